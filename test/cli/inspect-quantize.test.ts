/**
 * `edgellm inspect` and `edgellm quantize`, driven as a user would (the compiled CLI in a child
 * process), checked against llama.cpp: node-llama-cpp's own GGUF reader must report the same
 * architecture facts, and llama.cpp must load and run what `quantize` writes.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, readGgufFileInfo, type Llama } from "node-llama-cpp";
import { writeTestModel } from "../../src/model/factory/index.js";
import { openGGUF } from "../../src/gguf/reader.js";
import { GGMLType } from "../../src/gguf/types.js";
import type { InspectReport } from "../../src/cli/inspect.js";
import { execCli } from "./helpers.js";

const cli = (...args: string[]) => execCli(args);

let dir: string;
let model: string;
let llama: Llama;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "cli-"));
  model = join(dir, "gqa.gguf");
  await writeTestModel(model, {
    arch: "llama",
    nEmbd: 256,
    nLayer: 3,
    nHead: 8,
    nHeadKv: 2,
    nFf: 512,
    nCtx: 512,
    seed: 7,
  });
  llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
});
after(async () => {
  await llama?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("inspect --json reports the architecture facts llama.cpp's reader sees", async () => {
  const { stdout } = await cli("inspect", model, "--json");
  const r = JSON.parse(stdout) as InspectReport;
  const ref = await readGgufFileInfo(model, { readTensorInfo: true });
  const md = ref.metadata as unknown as Record<string, Record<string, unknown>>;
  const arch = md.general!.architecture as string;
  const a = md[arch]!;
  const att = a.attention as Record<string, number>;
  assert.equal(r.architecture, arch);
  assert.equal(r.hparams.nLayers, a.block_count);
  assert.equal(r.hparams.nEmbd, a.embedding_length);
  assert.equal(r.hparams.nFF, a.feed_forward_length);
  assert.equal(r.hparams.contextLength, a.context_length);
  assert.equal(r.hparams.nHead, att.head_count);
  assert.equal(r.hparams.nHeadKV, att.head_count_kv);
  assert.equal(r.tensorCount, ref.tensorInfo!.length);
  const refParams = ref.tensorInfo!.reduce(
    (s: number, t) => s + t.dimensions.reduce((p: number, d) => p * Number(d), 1),
    0,
  );
  assert.equal(r.parameterCount, refParams);
  const tokens = (md.tokenizer as Record<string, Record<string, unknown[]>>).ggml!.tokens!;
  assert.equal(r.tokenizer.tokens, tokens.length);
  // KV bytes per token at F16: layers x kv_heads x head_dim x 2 (K and V) x 2 bytes.
  assert.equal(r.kvCache.bytesPerTokenF16, 3 * 2 * (256 / 8) * 2 * 2);
});

test("inspect prints a readable summary", async () => {
  const { stdout } = await cli("inspect", model);
  assert.match(stdout, /architecture\s+llama/);
  assert.match(stdout, /heads \(q \/ kv\)\s+8 \/ 2/);
  assert.match(stdout, /KV cache \/ token/);
});

test("inspect of a non-GGUF file fails with a clear error and a non-zero exit", async () => {
  const bad = join(dir, "bad.gguf");
  writeFileSync(bad, "not a gguf file at all");
  await assert.rejects(cli("inspect", bad), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /GGUFError/);
    return true;
  });
});

for (const [name, type] of [
  ["q8_0", GGMLType.Q8_0],
  ["q4_0", GGMLType.Q4_0],
  ["q4_k", GGMLType.Q4_K],
  ["f16", GGMLType.F16],
] as const) {
  test(`quantize to ${name}: llama.cpp loads and evaluates the result`, async () => {
    const out = join(dir, `m-${name}.gguf`);
    const { stdout } = await cli("quantize", model, out, "--type", name);
    assert.match(stdout, /wrote/);
    const g = await openGGUF(out);
    try {
      assert.equal(g.tensorByName("blk.0.attn_q.weight")!.type, type);
      assert.equal(g.tensorByName("blk.0.attn_norm.weight")!.type, GGMLType.F32);
    } finally {
      await g.close();
    }
    const m = await llama.loadModel({ modelPath: out });
    try {
      const ctx = await m.createContext({ contextSize: 64 });
      const seq = ctx.getSequence();
      const it = seq.evaluate(m.tokenize("hello world"), { temperature: 0 });
      const first = await it.next();
      assert.equal(typeof first.value, "number");
      await ctx.dispose();
    } finally {
      await m.dispose();
    }
  });
}

test("quantize rejects an unknown type", async () => {
  await assert.rejects(
    cli("quantize", model, join(dir, "x.gguf"), "--type", "q9_9"),
    (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, /unknown type 'q9_9'/);
      return true;
    },
  );
});

test("inspect tells the placement for a budget; run --max-memory below it fails with a hint, nothing loaded", async () => {
  const { stdout } = await cli("inspect", model, "--json", "--ctx", "256", "--parallel", "1");
  const r = JSON.parse(stdout) as InspectReport;
  const p = r.placement!;
  assert.equal(p.shards.length, 1);
  assert.deepEqual(p.shards[0]!.layers, [0, 1, 2]);
  assert.ok(p.shards[0]!.head);
  // K and V rows of 256 positions, f32, 2 KV heads of 32 each, per layer.
  assert.equal(p.kvBytes, 3 * 256 * 2 * 2 * 32 * 4);
  assert.equal(p.error, undefined);
  const over = await cli("inspect", model, "--max-memory", "64M");
  assert.match(over.stdout, /placement \(WASM\)\s+1 memory/);
  assert.match(over.stdout, /does not fit: .*memory budget is 64\.0 MiB/);
  assert.match(over.stdout, /hint: raise --max-memory/);
  await assert.rejects(
    cli("run", "-m", model, "-p", "hello", "-n", "2", "--max-memory", "64M"),
    (e: { code?: number; stderr?: string }) =>
      e.code !== 0 && /memory budget/.test(e.stderr ?? "") && /hint: raise --max-memory/.test(e.stderr ?? ""),
  );
  await assert.rejects(cli("inspect", model, "--max-memory", "lots"), (e: { stderr?: string }) =>
    /--max-memory must be a size/.test(e.stderr ?? ""),
  );
});

test("inspect with a budget under the resident need shows the streamed placement (slots, bytes read per token)", async () => {
  const kv = ["--ctx", "256", "--parallel", "1"];
  const full = JSON.parse((await cli("inspect", model, "--json", ...kv)).stdout) as InspectReport;
  assert.equal(full.placement!.weights, "resident");
  const budget = String(full.placement!.totalBytes - 1);
  const r = JSON.parse(
    (await cli("inspect", model, "--json", ...kv, "--max-memory", budget)).stdout,
  ) as InspectReport;
  const p = r.placement!;
  assert.equal(p.weights, "stream");
  assert.match(p.residentError ?? "", /memory budget/);
  assert.equal(p.error, undefined);
  assert.ok(p.totalBytes <= Number(budget));
  const s = p.stream!;
  assert.equal(s.layers, 3);
  assert.ok(s.slots >= 1 && s.slots < 3, `${s.slots} slots`);
  assert.equal(s.pinned, s.slots - 1);
  // file bytes of the layers that rotate through the one unpinned slot, from the tensor table
  const f = await openGGUF(model);
  let want = 0;
  for (const t of f.tensors) {
    const m = /^blk\.(\d+)\./.exec(t.name);
    if (m && Number(m[1]) >= s.pinned && t.dims.length >= 2 && t.dims[1]! > 1) want += t.nBytes;
  }
  await f.close();
  assert.equal(s.readBytesPerToken, want);
  const text = (await cli("inspect", model, ...kv, "--max-memory", budget)).stdout;
  assert.match(text, /resident does not fit .*as --weights auto places it/);
  assert.match(text, /streamed layers: 3 left in the file, \d slot\(s\)/);
  // the same budget with the weights kept resident: refused, with the hint
  const res = (await cli("inspect", model, ...kv, "--max-memory", budget, "--weights", "resident")).stdout;
  assert.match(res, /does not fit: .*memory budget/);
});
