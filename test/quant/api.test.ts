/** index.ts contract: typed errors on bad input, offsets, capability queries, dot variants. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { GGMLType, ggmlRowBytes } from "../../src/gguf/types.js";
import {
  canDequantize,
  canQuantize,
  dequantizeInto,
  dequantizeRows,
  quantizeRows,
  vecDot,
  vecDotDequantized,
} from "../../src/quant/index.js";
import { quantizeRowQ8_0 } from "../../src/quant/q8_0.js";
import { quantizeRowQ8_0Avx } from "../../src/model/reference/ggml-order/index.js";
import { Rng } from "./rng.js";

const QUANTIZABLE = [
  GGMLType.F32,
  GGMLType.F16,
  GGMLType.BF16,
  GGMLType.Q4_0,
  GGMLType.Q4_1,
  GGMLType.Q5_0,
  GGMLType.Q5_1,
  GGMLType.Q8_0,
  GGMLType.Q2_K,
  GGMLType.Q3_K,
  GGMLType.Q4_K,
  GGMLType.Q5_K,
  GGMLType.Q6_K,
  GGMLType.Q8_K,
];

function gaussRow(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.gauss();
  return x;
}

test("capabilities", () => {
  for (const t of QUANTIZABLE) {
    assert.ok(canQuantize(t), `canQuantize ${t}`);
    assert.ok(canDequantize(t), `canDequantize ${t}`);
  }
  assert.equal(canQuantize(GGMLType.IQ2_XXS), false);
  assert.equal(canDequantize(GGMLType.IQ2_XXS), false);
  assert.equal(canQuantize(999 as GGMLType), false);
});

test("bad input throws InputError with context", () => {
  const x = gaussRow(512, 1);
  assert.throws(() => quantizeRows(GGMLType.IQ2_XXS, x, 256), InputError);
  assert.throws(() => quantizeRows(999 as GGMLType, x, 256), InputError);
  assert.throws(() => quantizeRows(GGMLType.Q4_K, x, 100), /multiple of the Q4_K block size 256/);
  assert.throws(() => quantizeRows(GGMLType.Q4_0, x.subarray(0, 500), 64), /whole number of rows/);
  assert.throws(() => quantizeRows(GGMLType.Q4_0, x, -32), InputError);
  const q = quantizeRows(GGMLType.Q8_0, x, 256);
  assert.throws(() => dequantizeRows(GGMLType.Q8_0, q, 544), /too short/);
  assert.throws(() => dequantizeRows(GGMLType.Q8_0, q, 33), InputError);
  assert.throws(() => dequantizeInto(GGMLType.Q8_0, q, 40, new Float32Array(512), 0, 512), InputError);
  assert.throws(() => dequantizeInto(GGMLType.Q8_0, q, 0, new Float32Array(100), 0, 128), /cannot hold/);
  assert.throws(() => vecDot(GGMLType.Q8_0, q, 0, x.subarray(0, 10), 32), /x has 10/);
  assert.throws(() => vecDot(GGMLType.Q8_K, q, 0, x, 256), /no reference dot/);
  try {
    dequantizeRows(GGMLType.Q6_K, new Uint8Array(100), 256);
    assert.fail("no throw");
  } catch (e) {
    assert.ok(e instanceof InputError);
    assert.equal(e.context.field, "bytes");
    assert.equal(e.context.offset, 0);
  }
});

test("empty input is fine", () => {
  assert.equal(quantizeRows(GGMLType.Q4_K, new Float32Array(0), 256).length, 0);
  assert.equal(dequantizeRows(GGMLType.Q4_K, new Uint8Array(0), 0).length, 0);
});

test("dequantizeInto reads at a byte offset and writes at an element offset", () => {
  for (const t of QUANTIZABLE) {
    const x = gaussRow(1024, 2);
    const q = quantizeRows(t, x, 256);
    const all = dequantizeRows(t, q, 1024);
    const rb = ggmlRowBytes(t, 256);
    const out = new Float32Array(300).fill(7);
    dequantizeInto(t, q, 2 * rb, out, 13, 256);
    assert.deepEqual(out.subarray(13, 269), all.subarray(512, 768), `type ${t}`);
    assert.equal(out[12], 7);
    assert.equal(out[269], 7);
    // An unaligned, offset view for F32 too.
    const shifted = new Uint8Array(q.length + 3);
    shifted.set(q, 3);
    const out2 = new Float32Array(256);
    dequantizeInto(t, shifted, 3 + rb, out2, 0, 256);
    assert.deepEqual(out2, all.subarray(256, 512));
  }
});

test("vecDot tracks the dequantized dot within the activation quantization error", () => {
  const n = 1024;
  const w = gaussRow(n, 3);
  const x = gaussRow(n, 4);
  for (const t of QUANTIZABLE.filter((t) => t !== GGMLType.Q8_K)) {
    const q = quantizeRows(t, w, n);
    const exact = vecDotDequantized(t, q, 0, x, n);
    const got = vecDot(t, q, 0, x, n);
    // Q8 activations carry ~0.4% relative error per element; over n terms the error grows ~sqrt(n).
    const tol = t === GGMLType.F32 ? 1e-4 : t === GGMLType.F16 || t === GGMLType.BF16 ? 0.2 : 0.6;
    assert.ok(Math.abs(got - exact) < tol, `type ${t}: vecDot ${got} vs dequantized ${exact}`);
  }
});

test("x86 AVX Q8_0 activation variant differs from _ref only by rounding of ties and 1/d", () => {
  const x = new Float32Array(64);
  for (let i = 0; i < 64; i++) x[i] = i - 32 + 0.5; // exact ties (d = 1 because of the 127s below)
  x[0] = 127;
  x[32] = 127;
  const a = new Uint8Array(68);
  const b = new Uint8Array(68);
  quantizeRowQ8_0(x, 0, a, 0, 64);
  quantizeRowQ8_0Avx(x, 0, b, 0, 64);
  assert.deepEqual(a.subarray(0, 2), b.subarray(0, 2)); // same d
  let diff = 0;
  for (let i = 0; i < 68; i++) {
    const d = Math.abs(((a[i] << 24) >> 24) - ((b[i] << 24) >> 24));
    assert.ok(d <= 1);
    diff += d;
  }
  assert.ok(diff > 0, "expected some ties to round differently");
});
