/**
 * Loading into a KernelSet: models larger than one wasm32 memory are placed over several shard
 * memories, and models over a budget (or with a tensor larger than a memory) refused, from tensor
 * infos alone (nothing read); MoE experts and MLA per-head k_b/v_b become one prepared handle per matrix,
 * file bytes are dropped, and logits agree with the plain-TS path.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelError } from "../../src/errors.js";
import { GGMLType } from "../../src/gguf/types.js";
import type { GGUFFile } from "../../src/gguf/reader.js";
import {
  createWasmKernelSet,
  SHARD_MEMORY_LIMIT,
  type WasmKernelSet,
} from "../../src/kernels/wasm/wasm-kernel-set.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadModel } from "../../src/model/index.js";
import { loadLLM } from "../../src/engine/llm.js";
import { describePlacement, planPlacement, preparedBytes } from "../../src/model/placement.js";
import { TINY_SHAPE } from "./family-specs.js";

let dir: string;
let ks: WasmKernelSet;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "load-mem-"));
  ks = await createWasmKernelSet({ threads: 1 });
});
after(async () => {
  await ks.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** A file whose tensor infos describe `n` Q8_0 matrices [8192, rows] (~544 MiB each at 65536
 *  rows); no data. */
function hugeFile(n: number, rows = 65536): GGUFFile {
  const tensors = Array.from({ length: n }, (_, i) => ({
    name: `blk.${i}.ffn_up.weight`,
    dims: [8192, rows],
    type: GGMLType.Q8_0,
    offset: 0,
    nBytes: 0,
  }));
  tensors.push({ name: "output.weight", dims: [8192, 1000], type: GGMLType.Q8_0, offset: 0, nBytes: 0 });
  return {
    path: "/virtual/huge.gguf",
    tensors,
    tensorByName: (name: string) => tensors.find((t) => t.name === name),
    readTensorSync: () => assert.fail("no tensor may be read before the size check"),
  } as unknown as GGUFFile;
}

test("a model over one 4 GiB wasm32 memory is placed over shards by layer, before any tensor is read", () => {
  assert.ok(preparedBytes(hugeFile(8), ks) > SHARD_MEMORY_LIMIT);
  const p = planPlacement(hugeFile(8), ks);
  assert.equal(p.shards.length, 2, describePlacement(p).join("; "));
  // 7 x 544 MiB + 256 MiB working room fit one 4 GiB memory.
  assert.deepEqual(p.shards[0]!.layers, [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(p.shards[1]!.layers, [7]);
  assert.ok(p.shards[1]!.head);
  for (const s of p.shards) assert.ok(s.weightBytes + 256 * 2 ** 20 <= SHARD_MEMORY_LIMIT);
  assert.equal(planPlacement(hugeFile(2), ks).shards.length, 1);
  // KV rows count against a shard's memory: with 300 MiB per layer, 4 layers fit.
  const kv = planPlacement(hugeFile(8), ks, { kvBytesPerLayer: 300 * 2 ** 20 });
  assert.deepEqual(kv.shards[0]!.layers, [0, 1, 2, 3]);
});

test("over the memory budget, or a tensor over one memory: typed errors with a hint, nothing read", () => {
  assert.throws(
    () => planPlacement(hugeFile(8), ks, { maxMemory: 4 * 2 ** 30 }),
    (e: unknown) =>
      e instanceof ModelError && /memory budget is 4\.00 GiB/.test(e.message) && !!e.context.hint,
  );
  assert.doesNotThrow(() => planPlacement(hugeFile(8), ks, { maxMemory: 6 * 2 ** 30 }));
  assert.throws(
    () => planPlacement(hugeFile(1, 65536 * 8), ks),
    (e: unknown) => e instanceof ModelError && /once prepared/.test(e.message) && !!e.context.hint,
  );
});

test("loadLLM over --max-memory: ModelError with a hint before any kernel memory or thread exists", async () => {
  const path = join(dir, "budget.gguf");
  await writeTestModel(path, { arch: "llama", ...small, types: { weights: GGMLType.Q8_0 } });
  const phases: string[] = [];
  await assert.rejects(
    loadLLM(path, { maxMemory: 2 ** 20, contextSize: 64, onProgress: (p) => phases.push(p.phase) }),
    (e: unknown) =>
      e instanceof ModelError && /memory budget is 1\.0 MiB/.test(e.message) && !!e.context.hint,
  );
  // the kernel set (a shared memory and its worker threads) is created in the "kernels" phase
  assert.deepEqual(phases, ["open"]);
  // the same file under a budget it fits: loads
  const llm = await loadLLM(path, { maxMemory: 2 ** 30, contextSize: 64, threads: 1 });
  await llm.close();
});

const small = TINY_SHAPE;
const CASES: [string, TestModelSpec][] = [
  [
    "qwen3moe Q8_0, 16 experts top-4",
    {
      arch: "qwen3moe",
      ...small,
      moe: { nExpert: 16, nExpertUsed: 4, nFfExp: 32 },
      types: { weights: GGMLType.Q8_0 },
    },
  ],
  [
    "deepseek2 Q4_0 (MLA k_b/v_b per head, shared expert), tied embeddings",
    {
      arch: "deepseek2",
      ...small,
      nHeadKv: 4,
      tiedEmbeddings: true,
      mla: { qLoraRank: 0, kvLoraRank: 64, nopeDim: 32, ropeDim: 16, vDim: 32 },
      moe: { nExpert: 8, nExpertUsed: 2, nFfExp: 32, nShared: 1, leadingDense: 1 },
      types: { weights: GGMLType.Q4_0 },
    },
  ],
];

// IQ4 weights (llama.cpp's IQ4_NL / IQ4_XS files): accepted by the loader, every matrix prepared
// in the WASM set (no silent plain-TS fallback), counted by the memory check, logits as the TS path.
const wide = { ...small, nEmbd: 256, nFf: 256 };
for (const t of [GGMLType.IQ4_NL, GGMLType.IQ4_XS]) {
  test(`llama ${t === GGMLType.IQ4_NL ? "IQ4_NL" : "IQ4_XS"}: loaded into the WASM set, memory counted, logits equal the TS path`, async () => {
    const path = join(dir, `iq4-${t}.gguf`);
    await writeTestModel(path, { arch: "llama", ...wide, types: { weights: t } });
    const ts = await loadModel(path);
    const wasm = await loadModel(path, { kernels: ks });
    let n = 0;
    const walk = (o: unknown, depth: number): void => {
      if (!o || typeof o !== "object" || depth > 4) return;
      const w = o as { type?: GGMLType; name?: string; kernel?: unknown; rows?: number };
      if (w.type === t && typeof w.name === "string" && typeof w.rows === "number") {
        assert.ok(w.kernel, `${w.name} in the WASM set`);
        n++;
        return;
      }
      for (const v of Object.values(o)) walk(v, depth + 1);
    };
    walk(wasm.weights.layers, 0);
    assert.ok(n >= 4, `only ${n} ${t} matrices found`);
    const toks = [1, 17, 250, 3, 99];
    const a = ts.forward(toks, ts.newCache(8))[0];
    const b = wasm.forward(toks, wasm.newCache(8))[0];
    let e = 0;
    for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
    assert.ok(e < 1e-3, `max |dlogit| ${e}`);
  });
}

for (const [name, spec] of CASES) {
  test(`${name}: every matrix lives in the WASM set, logits equal the TS path`, async () => {
    const path = join(dir, `${spec.arch}.gguf`);
    await writeTestModel(path, spec);
    const ts = await loadModel(path);
    const wasm = await loadModel(path, { kernels: ks });
    for (const L of wasm.weights.layers) {
      for (const w of [L.moe?.gateExps, L.moe?.upExps, L.moe?.downExps, L.mla?.wkB, L.mla?.wvB]) {
        if (!w) continue;
        assert.equal(w.data.length, 0, `${w.name} bytes dropped`);
        assert.equal(w.mats?.length, w.nMat, `${w.name}: one handle per matrix`);
      }
    }
    const toks = [1, 17, 250, 3, 99];
    const a = ts.forward(toks, ts.newCache(8))[0];
    const b = wasm.forward(toks, wasm.newCache(8))[0];
    let e = 0;
    for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
    assert.ok(e < 1e-3, `max |dlogit| ${e}`);
  });
}
