/**
 * LoRA adapters in our forward pass: mismatched or malformed adapters are typed errors naming the
 * key or tensor; several adapters in one forwardBatch (rows grouped by adapter list, a segment
 * without any) give each sequence what it gets alone; the WASM KernelSet path with adapters
 * matches the plain-TS path; scale 0 is the base exactly.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError, ModelError } from "../../src/errors.js";
import { parseGGUF } from "../../src/gguf/reader.js";
import { GGMLType } from "../../src/gguf/types.js";
import { GGUFWriter } from "../../src/gguf/writer.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { buildTestAdapter, type TestAdapterSpec } from "../../src/model/factory/lora.js";
import { forwardBatch, type Segment } from "../../src/model/forward.js";
import { loadModel, type Transformer } from "../../src/model/index.js";
import { liftF16Subnormals, readLoraAdapter, type LoraAdapter, type LoraRef } from "../../src/model/lora.js";
import { fp16ToFp32, fp32ToFp16 } from "../../src/quant/f16.js";
import { Rng } from "../../src/sampling/rng.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";

const spec: TestModelSpec = {
  arch: "llama",
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 96,
  nCtx: 128,
  nVocab: 300,
  weightStd: 0.15,
};
let dir: string;
let model: Transformer;
let ks: WasmKernelSet;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "lora-"));
  await writeTestModel(join(dir, "base.gguf"), spec);
  model = await loadModel(join(dir, "base.gguf"));
  ks = await createWasmKernelSet({ threads: 1 });
});
after(async () => {
  await ks.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const adapter = (a: TestAdapterSpec, base = spec, m = model, id?: string): LoraAdapter =>
  readLoraAdapter(parseGGUF(buildTestAdapter(base, a).toBytes()), m, id);

function rejects(w: GGUFWriter | (() => unknown), field: string, re: RegExp): void {
  const run = typeof w === "function" ? w : () => readLoraAdapter(parseGGUF(w.toBytes()), model);
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ModelError, String(e));
    assert.equal(e.context.field, field);
    assert.match(e.message, re);
    return true;
  });
}

test("an adapter is read with its alpha, rank and targets", () => {
  const a = adapter({ rank: 8, alpha: 16, type: GGMLType.F16 });
  assert.equal(a.alpha, 16);
  assert.equal(a.arch, "llama");
  assert.equal(a.tensors.size, 2 * 7);
  const t = a.tensors.get("blk.1.ffn_down.weight")!;
  assert.equal(t.rank, 8);
  assert.deepEqual([t.a.cols, t.a.rows, t.b.cols, t.b.rows], [96, 8, 8, 64]);
  assert.equal(a.scaleFor(t, 0.5), 1);
  assert.ok(a.bytes > 0);
});

test("mismatched adapters are typed errors naming the key or tensor", () => {
  // Another architecture.
  rejects(buildTestAdapter(spec, { rank: 4, arch: "qwen2" }), "general.architecture", /qwen2.*llama/);
  // Missing alpha (llama.cpp would silently use scale 1; we refuse).
  rejects(buildTestAdapter(spec, { rank: 4, alpha: null }), "adapter.lora.alpha", /missing/);
  // Shapes of another model (nFf 128): the first mismatching tensor is named.
  rejects(
    buildTestAdapter({ ...spec, nFf: 128 }, { rank: 4, targets: ["ffn_down"] }),
    "blk.0.ffn_down.weight",
    /do not fit/,
  );
  // A model file, not an adapter.
  const notAdapter = new GGUFWriter().set("general.architecture", "llama").set("general.type", "model");
  rejects(notAdapter, "general.type", /expected 'adapter'/);
  const base = () =>
    new GGUFWriter()
      .set("general.architecture", "llama")
      .set("general.type", "adapter")
      .set("adapter.type", "lora")
      .set("adapter.lora.alpha", 4);
  const f32 = (n: number) => new Uint8Array(4 * n);
  // A lone lora_a.
  rejects(
    base().addTensor("blk.0.attn_q.weight.lora_a", GGMLType.F32, [64, 4], f32(256)),
    "blk.0.attn_q.weight.lora_b",
    /lacks/,
  );
  // Unknown suffix.
  rejects(
    base().addTensor("blk.0.attn_q.weight", GGMLType.F32, [64, 4], f32(256)),
    "blk.0.attn_q.weight",
    /neither/,
  );
  // An unsupported target (token embeddings) / a tensor the base lacks.
  const pair = (name: string, cols: number, rows: number) =>
    base()
      .addTensor(`${name}.lora_a`, GGMLType.F32, [cols, 4], f32(cols * 4))
      .addTensor(`${name}.lora_b`, GGMLType.F32, [4, rows], f32(4 * rows));
  rejects(pair("token_embd.weight", 64, 300), "token_embd.weight", /no matching base matrix/);
  rejects(pair("blk.7.attn_q.weight", 64, 64), "blk.7.attn_q.weight", /no matching base matrix/);
  // Ranks of A and B differ.
  const badRank = base()
    .addTensor("blk.0.attn_q.weight.lora_a", GGMLType.F32, [64, 4], f32(256))
    .addTensor("blk.0.attn_q.weight.lora_b", GGMLType.F32, [8, 64], f32(512));
  rejects(badRank, "blk.0.attn_q.weight", /rank differs/);
  // Bad scales and duplicates are InputErrors at the forward pass.
  const a = adapter({ rank: 4 });
  const seg = (lora: LoraRef[]): Segment => ({
    tokens: [1, 2],
    cache: model.newCache(8),
    outputs: [1],
    lora,
  });
  assert.throws(() => forwardBatch(model, [seg([{ adapter: a, scale: NaN }])]), InputError);
  assert.throws(
    () =>
      forwardBatch(model, [
        seg([
          { adapter: a, scale: 1 },
          { adapter: a, scale: 2 },
        ]),
      ]),
    /given twice/,
  );
});

function runAlone(m: Transformer, toks: number[][], lora: LoraRef[]): Float32Array[] {
  const cache = m.newCache(32);
  const out: Float32Array[] = [];
  for (const t of toks)
    out.push(forwardBatch(m, [{ tokens: t, cache, outputs: [t.length - 1], lora }])[0][0].slice());
  return out;
}

/** Several sequences, each its own adapter list (or none), prefill then 3 decode steps together. */
function runTogether(m: Transformer, steps: number[][][], loras: LoraRef[][]): Float32Array[][] {
  const caches = loras.map(() => m.newCache(32));
  const out: Float32Array[][] = loras.map(() => []);
  for (const step of steps) {
    const segs: Segment[] = step.map((t, i) => ({
      tokens: t,
      cache: caches[i],
      outputs: [t.length - 1],
      lora: loras[i],
    }));
    const r = forwardBatch(m, segs);
    r.forEach((o, i) => out[i].push(o[0].slice()));
  }
  return out;
}

function maxAbs(a: Float32Array[], b: Float32Array[]): number {
  let e = 0;
  a.forEach((x, s) => x.forEach((v, i) => (e = Math.max(e, Math.abs(v - b[s][i])))));
  return e;
}

for (const kernels of [false, true]) {
  test(`several adapters in one batch equal each alone (${kernels ? "WASM kernels" : "plain TS"})`, async () => {
    const m = kernels ? await loadModel(join(dir, "base.gguf"), { kernels: ks }) : model;
    const a = adapter(
      { rank: 8, alpha: 16, seed: 1, targets: ["attn_q", "attn_v", "ffn_up", "ffn_down", "output"] },
      spec,
      m,
      "a",
    );
    const b = adapter({ rank: 4, type: GGMLType.F16, seed: 2 }, spec, m, "b");
    const loras: LoraRef[][] = [
      [{ adapter: a, scale: 1 }],
      [],
      [{ adapter: b, scale: 0.5 }],
      [
        { adapter: a, scale: 1 },
        { adapter: b, scale: -1 },
      ],
    ];
    const prompts = [
      [1, 5, 9, 4],
      [1, 5, 9, 4],
      [7, 3],
      [1, 5, 9, 4, 11, 12],
    ];
    const steps = [prompts, ...[0, 1, 2].map((s) => prompts.map((_, i) => [20 + s + i]))];
    const together = runTogether(m, steps, loras);
    loras.forEach((l, i) => {
      const alone = runAlone(
        m,
        steps.map((st) => st[i]),
        l,
      );
      // Same products on the same rows; only the base product's batch shape differs (a kernel may
      // tile differently by row count, and the relaxed build fuses multiply-adds), so allow
      // float-order noise: the F32 bound the conformance suite uses against llama.cpp (Node 24's
      // relaxed-SIMD tiles measured 6.2e-5; Node 20's SIMD128 under 2e-5).
      const e = maxAbs(together[i], alone);
      assert.ok(e <= 1e-4, `sequence ${i}: ${e}`);
    });
    // The adapters matter, and differ from each other.
    assert.ok(maxAbs(together[0], together[1]) > 1e-2);
    assert.ok(
      maxAbs(
        together[0],
        runAlone(
          m,
          steps.map((st) => st[0]),
          [{ adapter: b, scale: 0.5 }],
        ),
      ) > 1e-2,
    );
    // Scale 0 is the base exactly.
    const zero = runAlone(
      m,
      steps.map((st) => st[1]),
      [{ adapter: a, scale: 0 }],
    );
    assert.equal(
      maxAbs(
        zero,
        runAlone(
          m,
          steps.map((st) => st[1]),
          [],
        ),
      ),
      0,
    );
    if (kernels) {
      // Kernel path with adapters vs the plain-TS path: products summed in another order only.
      const ta = adapter({
        rank: 8,
        alpha: 16,
        seed: 1,
        targets: ["attn_q", "attn_v", "ffn_up", "ffn_down", "output"],
      });
      const tsRun = runAlone(
        model,
        steps.map((st) => st[0]),
        [{ adapter: ta, scale: 1 }],
      );
      const e = maxAbs(
        tsRun,
        runAlone(
          m,
          steps.map((st) => st[0]),
          loras[0],
        ),
      );
      assert.ok(e <= 1e-3, `kernel vs TS with an adapter: ${e}`);
    }
  });
}

test("WASM kernels: A products in the base dispatch, B products batched = one product per weight and adapter", async () => {
  const prompts = [
    [1, 5, 9, 4],
    [1, 5, 9, 4],
    [7, 3],
    [1, 5, 9, 4, 11, 12],
    [8, 2, 6],
  ];
  const steps = [prompts, ...[0, 1, 2].map((s) => prompts.map((_, i) => [20 + s + i]))];
  const together: Float32Array[][][] = [];
  const single: Float32Array[][] = [];
  for (const fuse of [true, false]) {
    const m = await loadModel(join(dir, "base.gguf"), { kernels: ks });
    m.fuseOps = fuse; // false: norm apart, then one product per weight and per adapter (applyLora)
    const a = adapter(
      { rank: 8, alpha: 16, seed: 1, targets: ["attn_q", "attn_v", "ffn_up", "ffn_down", "output"] },
      spec,
      m,
      "a",
    );
    const b = adapter({ rank: 4, type: GGMLType.F16, seed: 2 }, spec, m, "b");
    assert.equal(a.kernels, ks);
    // The first and last sequences share an adapter list: one group with rows apart (gathered).
    const loras: LoraRef[][] = [
      [{ adapter: a, scale: 1 }],
      [],
      [{ adapter: b, scale: 0.5 }],
      [
        { adapter: a, scale: 1 },
        { adapter: b, scale: -1 },
      ],
      [{ adapter: a, scale: 1 }],
    ];
    together.push(runTogether(m, steps, loras));
    single.push(
      runAlone(
        m,
        steps.map((st) => st[3]),
        loras[3],
      ),
    );
  }
  // One sequence (every row in the group): the same products on the same rows, bit for bit.
  assert.deepEqual(single[0], single[1], "joined A / batched B != one product per weight and adapter");
  // Several groups: A x runs over all rows of the step instead of the group's (a matvec may
  // become a matmul tile: float order only, as in the test above).
  together[0].forEach((seq, i) => {
    const e = maxAbs(seq, together[1][i]);
    assert.ok(e <= 1e-4, `sequence ${i}: ${e}`);
  });
});

test("an F16 B with fp16 subnormals is stored times 2^K and its products take scale * 2^-K: the same bits", () => {
  const rng = Rng.stream(11, 3);
  const f16 = (n: number, std: number): Uint8Array => {
    const v = rng.fillNormal(new Float32Array(n), 0, std);
    const b = new Uint8Array(2 * n);
    v.forEach((x, i) => {
      const h = fp32ToFp16(x);
      b[2 * i] = h & 255;
      b[2 * i + 1] = h >> 8;
    });
    return b;
  };
  const vals = (b: Uint8Array) =>
    Array.from({ length: b.length >> 1 }, (_, i) => b[2 * i]! | (b[2 * i + 1]! << 8));
  const subnormals = (b: Uint8Array) => vals(b).filter((h) => (h & 0x7c00) === 0 && (h & 0x3ff) !== 0).length;
  const [rows, rank, cols] = [64, 8, 96];
  // B entries of std 1e-4 (as a B trained from zero): about half are fp16 subnormals.
  const b = f16(rows * rank, 1e-4);
  assert.ok(subnormals(b) > 100, `${subnormals(b)} subnormals`);
  const { bytes: lifted, shift } = liftF16Subnormals(b);
  assert.equal(shift, 10);
  assert.equal(subnormals(lifted), 0);
  vals(b).forEach((h, i) => assert.equal(fp16ToFp32(vals(lifted)[i]!), fp16ToFp32(h) * 1024));
  // Nothing to lift: the bytes as given.
  const plain = f16(rows * rank, 1);
  if (subnormals(plain) === 0) assert.equal(liftF16Subnormals(plain).bytes, plain);
  const pw = (type: GGMLType, bytes: Uint8Array, r: number, c: number) => ks.prepareWeight(type, bytes, r, c);
  const W = pw(GGMLType.F16, f16(rows * cols, 0.2), rows, cols);
  const A = pw(GGMLType.F16, f16(rank * cols, 0.3), rank, cols);
  const B0 = pw(GGMLType.F16, b, rows, rank);
  const B1 = pw(GGMLType.F16, lifted, rows, rank);
  for (const nTok of [1, 3]) {
    const X = rng.fillNormal(new Float32Array(nTok * cols), 0, 1);
    const Y = [new Float32Array(nTok * rows), new Float32Array(nTok * rows)];
    ks.matmulMany([W], X, nTok, [Y[0]!], [{ out: 0, a: A, b: B0, scale: 0.75 }]);
    ks.matmulMany([W], X, nTok, [Y[1]!], [{ out: 0, a: A, b: B1, scale: 0.75 * 2 ** -10 }]);
    assert.deepEqual(Y[1], Y[0], `fused deltas, ${nTok} tokens`);
    // The B product alone (the grouped path): exactly 2^10 times.
    const ax = new Float32Array(nTok * rank).map((_, i) => fp16ToFp32(fp32ToFp16(Math.sin(i))));
    const Z = [new Float32Array(nTok * rows), new Float32Array(nTok * rows)];
    ks.matmulBatch([
      { w: B0, X: ax, nTokens: nTok, Y: Z[0]! },
      { w: B1, X: ax, nTokens: nTok, Y: Z[1]! },
    ]);
    assert.deepEqual(
      Z[1],
      Z[0]!.map((z) => z * 1024),
      `B product, ${nTok} tokens`,
    );
  }
});
