/**
 * Weights sharded over several WASM memories (model/placement.ts, one thread pool for every
 * shard): with a shard size forced tiny, small random-weight models are split over 2-3 shards by
 * layer, and their logits must be bit-identical to the one-memory run (same kernels, same order;
 * only the residual rows cross shards) at 1 and 2 threads, over a prefill and decode steps; the
 * KV rows of each layer live in its shard. Also through loadLLM (streamed load + engine pool).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType } from "../../src/gguf/types.js";
import { openGGUF } from "../../src/gguf/reader.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadModel, type Transformer } from "../../src/model/index.js";
import { planPlacement } from "../../src/model/placement.js";
import { loadLLM } from "../../src/index.js";

let dir: string;
const sets: WasmKernelSet[] = [];
before(() => {
  dir = mkdtempSync(join(tmpdir(), "shards-"));
});
after(async () => {
  for (const ks of sets) await ks.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function kernels(threads: number, shardBytes?: number): Promise<WasmKernelSet> {
  const ks = await createWasmKernelSet({ threads, ...(shardBytes ? { shardBytes } : {}) });
  sets.push(ks);
  return ks;
}

test("a shard's products run on its own memory's instances: same bits as shard 0, 1 and 2 threads", async () => {
  for (const threads of [1, 2]) {
    const ks = await kernels(threads);
    const s1 = ks.sharding.shard(1);
    const s2 = ks.sharding.shard(2);
    assert.equal(ks.sharding.count, 3);
    assert.notEqual(s1.arena.memory, ks.arena.memory);
    const rows = 64,
      cols = 512;
    const bytes = new Uint8Array((rows * cols * 144) / 256);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 73 + 11) & 0xff;
    // Sane super-block scales (f16 d, dmin at the start of each 144-byte block).
    for (let b = 0; b < bytes.length; b += 144) bytes.set([0x00, 0x20, 0x00, 0x1c], b);
    const outs = [ks, s1, s2].map((s) => {
      const w = s.prepareWeight(GGMLType.Q4_K, bytes, rows, cols);
      const x = s.alloc(3 * cols);
      for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37);
      const y = s.alloc(3 * rows);
      s.matmul(w, x, 3, y);
      const y1 = s.alloc(rows);
      s.matvec(w, x, y1);
      return [Array.from(y), Array.from(y1)];
    });
    assert.ok(outs[0]![0]!.some((v) => v !== 0));
    assert.deepEqual(outs[1], outs[0]);
    assert.deepEqual(outs[2], outs[0]);
  }
});

const wide = { nEmbd: 256, nHead: 4, nHeadKv: 2, nFf: 512, nCtx: 128, nVocab: 333, weightStd: 0.15 };
const CASES: [string, TestModelSpec][] = [
  [
    "llama Q4_K, Q6_K output, 4 layers",
    {
      arch: "llama",
      ...wide,
      nLayer: 4,
      types: { weights: GGMLType.Q4_K, output: GGMLType.Q6_K },
    },
  ],
  [
    "qwen3moe Q8_0 experts, tied embeddings, 3 layers",
    {
      arch: "qwen3moe",
      ...wide,
      nLayer: 3,
      tiedEmbeddings: true,
      moe: { nExpert: 8, nExpertUsed: 2, nFfExp: 256 },
      types: { weights: GGMLType.Q8_0 },
    },
  ],
  [
    "deepseek2 Q4_0 (MLA latent cache per shard, shared expert), 3 layers",
    {
      arch: "deepseek2",
      ...wide,
      nHeadKv: 4,
      nLayer: 3,
      mla: { qLoraRank: 0, kvLoraRank: 64, nopeDim: 32, ropeDim: 16, vDim: 32 },
      moe: { nExpert: 4, nExpertUsed: 2, nFfExp: 256, nShared: 1, leadingDense: 1 },
      types: { weights: GGMLType.Q4_0 },
    },
  ],
];

/** Logits of a 9-token prefill (every position) and 4 decode steps, as raw float bits. */
function run(m: Transformer, cache = m.newCache(32)): Uint32Array[] {
  const toks = [1, 17, 250, 3, 99, 42, 7, 300, 5];
  const out = m.forward(
    toks,
    cache,
    toks.map((_, i) => i),
  );
  for (let s = 0; s < 4; s++) out.push(m.forward([(s * 31 + 5) % 333], cache)[0]!);
  return out.map((l) => new Uint32Array(l.slice().buffer));
}

for (const [name, spec] of CASES) {
  test(`${name}: split over 2-3 shards, logits bit-identical to one memory at 1 and 2 threads`, async () => {
    const path = join(dir, `${spec.arch}.gguf`);
    await writeTestModel(path, spec);
    const f = await openGGUF(path);
    const one = await kernels(1);
    const whole = planPlacement(f, one);
    await f.close();
    assert.equal(whole.shards.length, 1);
    // A shard share of 55% of the weights: 2 or 3 shards (whole layers each).
    const shardBytes = Math.max(65536, Math.ceil(whole.weightBytes * 0.55));
    const ref = run(await loadModel(path, { kernels: one }));
    for (const threads of [1, 2]) {
      const ks = await kernels(threads, shardBytes);
      const m = await loadModel(path, { kernels: ks });
      const n = ks.sharding.count;
      assert.ok(n >= 2 && n <= 3, `${n} shards`);
      const layerSets = new Set(m.weights.layers.map((_, l) => m.kernelsOf(l)));
      assert.ok(layerSets.size >= 2, "layers run in different shards");
      const cache = m.newCache(8);
      for (let l = 0; l < m.config.nLayers; l++)
        assert.equal(cache.kernelView!(l)!.ks, m.kernelsOf(l), `layer ${l}'s KV rows live in its shard`);
      const got = run(m);
      assert.equal(got.length, ref.length);
      for (let i = 0; i < ref.length; i++)
        assert.ok(
          Buffer.from(got[i]!.buffer).equals(Buffer.from(ref[i]!.buffer)),
          `${threads} threads: logits row ${i} differ from the one-memory run`,
        );
    }
  });
}

test("a 151,936-row output head alone in a later shard: logits bit-identical to one memory, attention reads KV in place", async () => {
  // The head's load grows shard 1's memory after shard 0 holds the layers; V8 then renews shard
  // 0's buffer object, and before arena.ts recorded it, shard 0's KV rows and scratch made
  // afterwards looked foreign (TypeScript attention, copies): logits differed by ~1e-7.
  const spec: TestModelSpec = {
    arch: "llama",
    nEmbd: 256,
    nHead: 4,
    nHeadKv: 2,
    nFf: 512,
    nCtx: 128,
    nVocab: 151936,
    weightStd: 0.02,
    randomBlocks: true,
    nLayer: 2,
    types: { weights: GGMLType.Q4_K },
  };
  const path = join(dir, "bigvocab.gguf");
  await writeTestModel(path, spec);
  const f = await openGGUF(path);
  const one = await kernels(1);
  const whole = planPlacement(f, one);
  await f.close();
  assert.equal(whole.shards.length, 1);
  const ref = run(await loadModel(path, { kernels: one }));
  for (const threads of [1, 2]) {
    // Half the weights: the layers (~0.7 MiB) fit, the head (~21 MiB) goes to a shard of its own.
    const ks = await kernels(threads, Math.ceil(whole.weightBytes / 2));
    const m = await loadModel(path, { kernels: ks });
    assert.equal(ks.sharding.count, 2);
    assert.equal(m.kernelsOf(0), ks);
    assert.equal(m.kernelsOf(1), ks);
    assert.equal(m.headKernels, ks.sharding.shard(1));
    const cache = m.newCache(32);
    const view = cache.kernelView!(0)!;
    assert.ok(ks.arena.offsetOf(view.kv.k) >= 0, "shard 0's KV rows are in its memory as its views");
    const got = run(m, cache);
    for (let i = 0; i < ref.length; i++)
      assert.ok(
        Buffer.from(got[i]!.buffer).equals(Buffer.from(ref[i]!.buffer)),
        `${threads} threads: logits row ${i} differ from the one-memory run`,
      );
  }
});

test("loadLLM with tiny shards (streamed load, engine KV pool per shard): same greedy tokens", async () => {
  const path = join(dir, "llm.gguf");
  await writeTestModel(path, { arch: "llama", ...wide, nLayer: 3, types: { weights: GGMLType.Q4_0 } });
  const opts = { threads: 2, contextSize: 64, parallel: 1, blockSize: 8 } as const;
  const a = await loadLLM(path, opts);
  const b = await loadLLM(path, { ...opts, shardBytes: 65536 });
  try {
    const sb = (b.kernels as WasmKernelSet).sharding;
    assert.ok(sb.count >= 3, `${sb.count} shards`);
    const gen = { maxTokens: 12, temperature: 0, ignoreEos: true };
    const ta = (await a.complete("hello world", gen)).choices[0]!.tokens;
    const tb = (await b.complete("hello world", gen)).choices[0]!.tokens;
    assert.equal(ta.length, 12);
    assert.deepEqual(tb, ta);
  } finally {
    await a.close();
    await b.close();
  }
});
