/**
 * Hadamard rotation of quantized K/V rows (kv/hadamard.ts), beside the llama.cpp conformance in
 * test/conformance/kv-quant.test.ts (which compares the stored bytes with llama.cpp's):
 *  - the transform is the orthonormal Sylvester-Hadamard matrix, its own inverse;
 *  - which caches rotate, and in which blocks (llama.cpp's rule);
 *  - a RoPE shift of rotated rows (context shift, eviction) rotates back around the RoPE step:
 *    layer 0's rows after the shift equal a fresh prefill of the spliced tokens;
 *  - a saved session records the rotation: a file from an unrotated cache is refused by a rotated one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hadamardRows, kvRotation } from "../../src/kv/hadamard.js";
import { loadModel } from "../../src/model/index.js";
import { loadLLM } from "../../src/index.js";
import { SessionError } from "../../src/errors.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { createWasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { ropeShift } from "../../src/engine/context-shift.js";
import type { PagedKVCache } from "../../src/kv/paged-cache.js";

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

test("hadamardRows is the orthonormal Sylvester-Hadamard matrix per block, and its own inverse", () => {
  for (const n of [64, 128, 256]) {
    const blocks = 3;
    const x = new Float32Array(n * blocks);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 1.7 + n) * (i % 7 === 0 ? 9 : 1);
    const y = Float32Array.from(x);
    hadamardRows(y, 0, y.length, n);
    let err = 0;
    let normX = 0;
    let normY = 0;
    for (let b = 0; b < blocks; b++)
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += (popcount(i & j) % 2 ? -1 : 1) * x[b * n + j];
        err = Math.max(err, Math.abs(y[b * n + i] - s / Math.sqrt(n)));
        normX += x[b * n + i] ** 2;
        normY += y[b * n + i] ** 2;
      }
    assert.ok(err < 1e-5, `n ${n}: ${err}`);
    assert.ok(Math.abs(normX - normY) < 1e-4 * normX);
    hadamardRows(y, 0, y.length, n);
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(y[i] - x[i]) < 1e-5);
  }
  // An offset and a partial range leave the rest alone.
  const z = new Float32Array(200).fill(1);
  hadamardRows(z, 8, 128, 64);
  assert.equal(z[7], 1);
  assert.equal(z[136], 1);
  assert.equal(z[8], 8); // 64 ones -> sqrt(64) in the first slot
  assert.equal(z[9], 0);
});

test("kvRotation follows llama.cpp: quantized K at head_dim % 64 == 0 in the largest power-of-two block, V in 64s", () => {
  const cases: [Parameters<typeof kvRotation>, { rotK: number; rotV: number }][] = [
    [["q8_0", "q8_0", 64, 64], { rotK: 64, rotV: 64 }],
    [["q8_0", "q8_0", 128, 128], { rotK: 128, rotV: 64 }],
    [["q4_0", "q4_0", 256, 256], { rotK: 256, rotV: 64 }],
    [["q8_0", "q8_0", 192, 128], { rotK: 64, rotV: 64 }],
    [["q8_0", "f16", 128, 128], { rotK: 128, rotV: 0 }],
    [["f16", "q4_0", 128, 128], { rotK: 0, rotV: 64 }],
    [["q8_0", "q8_0", 32, 32], { rotK: 0, rotV: 0 }],
    [["q8_0", "q8_0", 96, 96], { rotK: 0, rotV: 0 }],
    [["f32", "f32", 128, 128], { rotK: 0, rotV: 0 }],
    [["q8_0", "q8_0", 128, 128, { rotate: false }], { rotK: 0, rotV: 0 }],
    [["q8_0", "q8_0", 192, 128, { mla: true }], { rotK: 0, rotV: 0 }],
  ];
  for (const [args, want] of cases) assert.deepEqual(kvRotation(...args), want, JSON.stringify(args));
});

// head_dim 64: the Q8_0 cache rotates.
const SPEC: TestModelSpec = {
  arch: "llama",
  nEmbd: 128,
  nLayer: 2,
  nHead: 2,
  nHeadKv: 1,
  nFf: 96,
  nCtx: 256,
  nVocab: 400,
  seed: 11,
};
const dir = mkdtempSync(join(tmpdir(), "hadamard-"));
const path = join(dir, "m.gguf");
await writeTestModel(path, SPEC);
test.after(() => rmSync(dir, { recursive: true, force: true }));

test("RoPE shift of rotated Q8_0 rows: layer-0 rows equal a fresh prefill of the spliced tokens", async () => {
  const ks = await createWasmKernelSet({ threads: 1 });
  try {
    const model = await loadModel(path, { kernels: ks });
    const toks = Array.from({ length: 70 }, (_, i) => (i * 37 + 11) % 400);
    const [keep, n] = [4, 30];
    const a = model.newCache(96, "q8_0") as PagedKVCache;
    assert.equal(a.shape.rotK, 64);
    assert.equal(a.shape.rotV, 64);
    model.forward(toks, a);
    ropeShift(model, a, keep, n);
    const spliced = [...toks.slice(0, keep), ...toks.slice(keep + n)];
    const b = model.newCache(96, "q8_0") as PagedKVCache;
    model.forward(spliced, b);
    const W = a.shape.kWidth;
    const [ra, rb] = [new Float32Array(W), new Float32Array(W)];
    let errK = 0;
    let mag = 0;
    for (let p = 0; p < spliced.length; p++) {
      a.readRow("k", 0, p, 0, ra, 0, W);
      b.readRow("k", 0, p, 0, rb, 0, W);
      for (let i = 0; i < W; i++) {
        errK = Math.max(errK, Math.abs(ra[i] - rb[i]));
        mag = Math.max(mag, Math.abs(rb[i]));
      }
    }
    // One requantization of the shifted row: within a few steps of amax/127. RoPE applied in the
    // rotated basis (no rotate-back) would be off by about the rows' own size.
    assert.ok(errK <= (2.5 * mag) / 127, `K error ${errK} (max |K| ${mag})`);
  } finally {
    await ks.dispose();
  }
});

test("a session saved from an unrotated Q8_0 cache is refused by a rotated one (SessionError kv)", async () => {
  const opts = { contextSize: 128, blockSize: 8, parallel: 1, threads: 1, kvType: "q8_0" } as const;
  const plain = await loadLLM(path, { ...opts, kvRotate: false });
  const rotated = await loadLLM(path, opts);
  try {
    const p = Array.from({ length: 20 }, (_, i) => (i * 13 + 5) % 400);
    const r = await plain.complete(p, { temperature: 0, ignoreEos: true, maxTokens: 4 });
    const bytes = plain.exportSession([...p, ...r.choices[0].tokens]);
    assert.throws(
      () => rotated.importSession(bytes),
      (e: unknown) => e instanceof SessionError && e.code === "kv" && /kRot/.test(e.message),
    );
    // The same file loads where the rotation matches.
    const again = await loadLLM(path, { ...opts, kvRotate: false });
    try {
      assert.ok(again.importSession(bytes).restoredTokens > 0);
    } finally {
      await again.close();
    }
  } finally {
    await plain.close();
    await rotated.close();
  }
});
