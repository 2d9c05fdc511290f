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
import {
  GGMLType,
  ggmlTypeName,
  ggmlTypeTraits,
  ggmlRowBytes as ggmlRowBytesOf,
} from "../../src/gguf/types.js";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { randomF32, randomWeight, maxRelDiff, WASM_WEIGHT_TYPES } from "./helpers.js";

const TYPES = WASM_WEIGHT_TYPES;
const FLOAT = new Set([GGMLType.F32, GGMLType.F16, GGMLType.BF16]);
const BLOCK = (t: GGMLType) => (FLOAT.has(t) ? 1 : ggmlTypeTraits(t).blockSize);
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
  assert.throws(() => ks1.prepareWeight(GGMLType.IQ3_S, new Uint8Array(110), 1, 256), {
    name: "KernelError",
  });
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
    GGMLType.Q2_K,
    GGMLType.Q3_K,
    GGMLType.IQ4_NL,
    GGMLType.IQ4_XS,
    GGMLType.MXFP4,
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

// Int8-dot kernels (kernels-src/assembly/dot8.ts): on the relaxed build they are the default;
// here they are forced on (prepareWeightLayout) so the SIMD128 run checks their layouts through
// the emulated dot and the relaxed rerun (relaxed.test.ts) the real relaxed_dot. Same checks as
// above: vs ref, 1 vs 2 threads bit-identical, matvec == matmul rows, dequantizeRow exact.
const DOT8 = [
  GGMLType.Q8_0,
  GGMLType.Q4_0,
  GGMLType.Q4_K,
  GGMLType.Q5_K,
  GGMLType.Q6_K,
  GGMLType.Q4_1,
  GGMLType.Q5_0,
  GGMLType.Q5_1,
];
/** Q8_0 test weights without -128 (ggml never writes it; the dot8 layout needs that). */
function dot8Weight(type: GGMLType, rows: number, cols: number, seed: number): Uint8Array {
  const b = randomWeight(type, rows, cols, seed);
  if (type === GGMLType.Q8_0)
    for (let o = 0; o < b.length; o += 34)
      for (let i = 2; i < 34; i++) if (b[o + i] === 0x80) b[o + i] = 0x81;
  return b;
}
for (const type of DOT8) {
  const bs = BLOCK(type);
  for (const [rows, cols] of [
    [1, bs],
    [6, 2 * bs],
    [11, 2 * bs], // 3 groups: a two-group pass then a single group (1 thread)
    [27, 2 * bs], // 7 groups: four-, two- and one-group passes
    [13, 3 * bs],
  ] as [number, number][]) {
    test(`${ggmlTypeName(type)} int8-dot kernels ${rows}x${cols}: vs ref, 1 = 2 threads, matvec = matmul`, () => {
      const data = dot8Weight(type, rows, cols, rows * 31 + cols);
      const wr = ref.prepareWeight(type, data, rows, cols);
      const w1 = ks1.prepareWeightLayout(type, data, rows, cols, true);
      const w2 = ks2.prepareWeightLayout(type, data, rows, cols, true);
      assert.equal((w1 as unknown as { dot8: boolean }).dot8, true);
      for (const nTok of [1, 5, 9]) {
        const X = randomF32(nTok * cols, rows + cols + nTok + 1);
        const yr = new Float32Array(nTok * rows);
        ref.matmul(wr, X, nTok, yr);
        const y1 = new Float32Array(nTok * rows);
        const y2 = new Float32Array(nTok * rows);
        ks1.matmul(w1, X, nTok, y1);
        ks2.matmul(w2, X, nTok, y2);
        const d = maxRelDiff(y1, yr, nTok * rows);
        assert.ok(d <= TOL(type), `nTok=${nTok}: rel diff ${d}`);
        assert.deepEqual(y2, y1, `nTok=${nTok}: 2 threads differ`);
        for (const t of [0, nTok - 1]) {
          const v = new Float32Array(rows);
          ks1.matvec(w1, X.subarray(t * cols, (t + 1) * cols), v);
          assert.deepEqual(v, y1.subarray(t * rows, (t + 1) * rows), `token ${t}: matvec != matmul`);
        }
      }
      for (const row of [0, rows - 1]) {
        const a = new Float32Array(cols);
        const b = new Float32Array(cols);
        ref.dequantizeRow(wr, row, a);
        ks1.dequantizeRow(w1, row, b);
        assert.deepEqual(b, a, `dequantizeRow ${row}`);
      }
    });
  }
}

test("int8-dot integer sums are exact: power-of-two scales and exactly quantizable activations give ref's bits", () => {
  // Weight scales 2^-10 (fp16-exact), activations q * 2^-7 with |q| <= 127 and one +-127 per
  // block: the activation quantizers reproduce q exactly, every product and partial sum is a
  // small multiple of 2^-17, so any summation order gives the same float: y must equal ref's.
  for (const type of DOT8) {
    const bs = BLOCK(type);
    const rows = 7;
    const cols = 2 * bs;
    const data = dot8Weight(type, rows, cols, 99 + type);
    const fb = ggmlRowBytesOf(type, cols) / (cols / bs);
    const h = 0x1400; // fp16 2^-10
    for (let o = 0; o < data.length; o += fb)
      for (const f of type === GGMLType.Q6_K
        ? [208]
        : type === GGMLType.Q4_K || type === GGMLType.Q5_K || type === GGMLType.Q4_1 || type === GGMLType.Q5_1
          ? [0, 2]
          : [0])
        ((data[o + f] = h & 255), (data[o + f + 1] = h >> 8));
    if (type === GGMLType.Q4_K || type === GGMLType.Q5_K)
      for (let o = 0; o < data.length; o += fb) for (let i = 4; i < 16; i++) data[o + i]! &= 0x33; // small scales/mins
    if (type === GGMLType.Q6_K)
      for (let o = 0; o < data.length; o += fb)
        for (let i = 192; i < 208; i++) data[o + i] = ((data[o + i]! % 16) - 8) & 255;
    const r = randomF32(cols, 3 + type);
    const X = new Float32Array(cols);
    for (let i = 0; i < cols; i++) X[i] = Math.round(r[i]! * 127) / 128;
    for (let b = 0; b < cols; b += 32) X[b] = 127 / 128;
    const wr = ref.prepareWeight(type, data, rows, cols);
    const w1 = ks1.prepareWeightLayout(type, data, rows, cols, true);
    const yr = new Float32Array(rows);
    const y1 = new Float32Array(rows);
    ref.matvec(wr, X, yr);
    ks1.matvec(w1, X, y1);
    assert.deepEqual(y1, yr, ggmlTypeName(type));
  }
});

test("Q8_0 weights holding -128 keep the i16 kernels (still exact vs ref)", () => {
  const rows = 5,
    cols = 64;
  const data = randomWeight(GGMLType.Q8_0, rows, cols, 5);
  data[2 + 34] = 0x80;
  const w = ks1.prepareWeightLayout(GGMLType.Q8_0, data, rows, cols, true);
  assert.equal((w as unknown as { dot8: boolean }).dot8, false);
  const X = randomF32(cols, 8);
  const yr = new Float32Array(rows);
  const y = new Float32Array(rows);
  ref.matvec(ref.prepareWeight(GGMLType.Q8_0, data, rows, cols), X, yr);
  ks1.matvec(w, X, y);
  assert.ok(maxRelDiff(y, yr, rows) <= TOL(GGMLType.Q8_0));
});
