/**
 * WASM matvec/matmul/dequantizeRow against the TypeScript reference, for every supported weight
 * type, odd shapes (rows not a multiple of 4, single block, several blocks), 1 and 2 threads.
 * Tolerance: quantized types share the activation quantization bit for bit (F16/BF16: the same
 * activation rounding), so only the f32 summation order differs: max |diff| <= 2e-5 * (1 + max|y|)
 * for quantized types, 1e-5 * (1 + max|y|) for F32/F16/BF16. dequantizeRow is bit-identical.
 * Outputs must be bit-identical between 1 and 2 threads.
 * Runs on the build createWasmKernelSet picks (simd128 on Node 20); relaxed.test.ts reruns this
 * file with EDGELLM_SIMD=relaxed under --experimental-wasm-relaxed-simd.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { GGMLType, ggmlTypeName } from "../../src/gguf/types.js";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { randomF32, randomWeight, maxRelDiff } from "./helpers.js";

const TYPES = [
  GGMLType.F32,
  GGMLType.F16,
  GGMLType.BF16,
  GGMLType.Q8_0,
  GGMLType.Q4_0,
  GGMLType.Q4_1,
  GGMLType.Q5_0,
  GGMLType.Q5_1,
  GGMLType.Q4_K,
  GGMLType.Q5_K,
  GGMLType.Q6_K,
];
const FLOAT = new Set([GGMLType.F32, GGMLType.F16, GGMLType.BF16]);
const BLOCK = (t: GGMLType) =>
  FLOAT.has(t) ? 1 : t === GGMLType.Q4_K || t === GGMLType.Q5_K || t === GGMLType.Q6_K ? 256 : 32;
const TOL = (t: GGMLType) => (FLOAT.has(t) ? 1e-5 : 2e-5);

const ref = new RefKernelSet();
let ks1: WasmKernelSet;
let ks2: WasmKernelSet;
before(async () => {
  ks1 = await createWasmKernelSet({ threads: 1 });
  ks2 = await createWasmKernelSet({ threads: 2 });
});

test("the kernel build in use is the one EDGELLM_SIMD asks for", () => {
  const want = process.env.EDGELLM_SIMD;
  if (want === "relaxed" || want === "simd128") {
    assert.equal(ks1.name, `wasm-${want === "relaxed" ? "relaxed-simd" : "simd128"}`);
    assert.equal(ks2.name, ks1.name);
  } else assert.match(ks1.name, /^wasm-(simd128|relaxed-simd)$/);
});
after(async () => {
  await ks1.dispose();
  await ks2.dispose();
});

for (const type of TYPES) {
  const bs = BLOCK(type);
  const shapes: [number, number][] = FLOAT.has(type)
    ? [
        [1, 1],
        [3, 7],
        [5, 33],
        [13, 130],
        [37, 257],
      ]
    : [
        [1, bs],
        [5, bs],
        [7, 2 * bs],
        [13, 3 * bs],
        [37, 4 * bs],
      ];
  for (const [rows, cols] of shapes) {
    test(`${ggmlTypeName(type)} matvec/matmul ${rows}x${cols}, 1 and 2 threads vs ref`, () => {
      const data = randomWeight(type, rows, cols, rows * 1000 + cols);
      const wr = ref.prepareWeight(type, data, rows, cols);
      const w1 = ks1.prepareWeight(type, data, rows, cols);
      const w2 = ks2.prepareWeight(type, data, rows, cols);
      for (const nTok of [1, 3, 6]) {
        const X = randomF32(nTok * cols, rows + cols + nTok);
        const yr = new Float32Array(nTok * rows);
        ref.matmul(wr, X, nTok, yr);
        const y1 = new Float32Array(nTok * rows);
        const x2 = ks2.alloc(nTok * cols); // in-memory path on the 2-thread set
        x2.set(X);
        const y2 = ks2.alloc(nTok * rows);
        ks1.matmul(w1, X, nTok, y1);
        ks2.matmul(w2, x2, nTok, y2);
        const d = maxRelDiff(y1, yr, nTok * rows);
        assert.ok(d <= TOL(type), `nTok=${nTok}: rel diff ${d}`);
        assert.deepEqual(y2, y1, `nTok=${nTok}: 2 threads differ from 1 thread`);
        if (nTok === 1) {
          const v = new Float32Array(rows);
          ks2.matvec(w2, X, v);
          assert.ok(maxRelDiff(v, yr, rows) <= TOL(type), "matvec");
        }
      }
      for (const row of [0, rows - 1, rows >> 1]) {
        const a = new Float32Array(cols);
        const b = new Float32Array(cols);
        ref.dequantizeRow(wr, row, a);
        ks1.dequantizeRow(w1, row, b);
        assert.deepEqual(b, a, `dequantizeRow ${row}`);
      }
    });
  }
}

test("bad shapes and foreign weights give KernelError", () => {
  assert.throws(() => ks1.prepareWeight(GGMLType.Q4_0, new Uint8Array(10), 1, 32), { name: "KernelError" });
  assert.throws(() => ks1.prepareWeight(GGMLType.Q4_0, new Uint8Array(18), 1, 31), { name: "KernelError" });
  assert.throws(() => ks1.prepareWeight(GGMLType.Q2_K, new Uint8Array(84), 1, 256), { name: "KernelError" });
  const w = ks1.prepareWeight(GGMLType.F32, new Uint8Array(16), 1, 4);
  assert.throws(() => ks2.matvec(w, new Float32Array(4), new Float32Array(1)), { name: "KernelError" });
  assert.throws(() => ks1.matvec(w, new Float32Array(3), new Float32Array(1)), { name: "KernelError" });
});

test("matmul over several token tiles (21 tokens: tiles of 8/16 plus micro-kernel tails) equals per-token matvec", () => {
  for (const type of [
    GGMLType.F32,
    GGMLType.F16,
    GGMLType.Q8_0,
    GGMLType.Q4_0,
    GGMLType.Q4_K,
    GGMLType.Q6_K,
    GGMLType.Q5_K,
  ]) {
    const rows = 9;
    const cols = 2 * BLOCK(type) + (FLOAT.has(type) ? 3 : 0);
    const nTok = 21;
    const data = randomWeight(type, rows, cols, 77 + type);
    const wr = ref.prepareWeight(type, data, rows, cols);
    const w1 = ks1.prepareWeight(type, data, rows, cols);
    const w2 = ks2.prepareWeight(type, data, rows, cols);
    const X = randomF32(nTok * cols, 5 + type);
    const yr = new Float32Array(nTok * rows);
    ref.matmul(wr, X, nTok, yr);
    const y1 = new Float32Array(nTok * rows);
    const y2 = new Float32Array(nTok * rows);
    ks1.matmul(w1, X, nTok, y1);
    ks2.matmul(w2, X, nTok, y2);
    assert.ok(
      maxRelDiff(y1, yr, nTok * rows) <= TOL(type),
      `${ggmlTypeName(type)}: rel diff ${maxRelDiff(y1, yr, nTok * rows)}`,
    );
    assert.deepEqual(y2, y1, `${ggmlTypeName(type)}: 2 threads differ`);
    // each token through matvec gives the same bits as the tiled matmul (not F32: its matvec
    // keeps 4 partial sums per row for speed, its matmul one, so they round differently)
    if (type === GGMLType.F32) continue;
    for (const t of [0, 7, 16, 20]) {
      const v = new Float32Array(rows);
      ks1.matvec(w1, X.subarray(t * cols, (t + 1) * cols), v);
      assert.deepEqual(
        v,
        y1.subarray(t * rows, (t + 1) * rows),
        `${ggmlTypeName(type)} token ${t}: matvec != matmul`,
      );
    }
  }
});
