/**
 * WASM softmax and RoPE (precomputed angles) against the TypeScript reference on odd shapes
 * (tails past the 4-wide SIMD, partial rotation, NeoX and normal pairs, token counts that run
 * threaded), 1 vs 2 threads bit-identical, plain arrays and alloc() views alike.
 * Tolerances: softmax 2e-6 absolute (probabilities <= 1; exp polynomial rel. error < 2e-7 plus
 * the sum); RoPE 4e-7 x (1 + max|x|) (one f32 rounding of a fused vs double-rounded product).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { randomF32 } from "./helpers.js";

const ref = new RefKernelSet();
let ks1: WasmKernelSet;
let ks2: WasmKernelSet;
before(async () => {
  ks1 = await createWasmKernelSet({ threads: 1 });
  ks2 = await createWasmKernelSet({ threads: 2 });
});
after(async () => {
  await ks1.dispose();
  await ks2.dispose();
});

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const [n, rows] of [
  [1, 1],
  [3, 5],
  [7, 2],
  [64, 3],
  [1003, 70],
] as [number, number][]) {
  test(`softmax ${rows}x${n}: vs ref, 1 = 2 threads`, () => {
    const x = randomF32(n * rows, n + rows, 8);
    const r = x.slice();
    ref.softmax(r, n, rows);
    const a = x.slice();
    ks1.softmax(a, n, rows);
    const b = ks2.alloc(n * rows);
    b.set(x);
    ks2.softmax(b, n, rows);
    assert.ok(maxAbs(a, r) <= 2e-6, `diff ${maxAbs(a, r)}`);
    assert.deepEqual(Array.from(b), Array.from(a));
  });
}

for (const [nTok, nHeads, headDim, nRot] of [
  [1, 2, 6, 6],
  [3, 3, 10, 6],
  [5, 8, 64, 64],
  [2, 4, 80, 32],
  [300, 8, 64, 64],
] as [number, number, number, number][]) {
  for (const neox of [false, true]) {
    test(`ropeAngles ${nTok}x${nHeads}x${headDim} rot ${nRot} ${neox ? "neox" : "normal"}: vs ref, 1 = 2 threads`, () => {
      const x = randomF32(nTok * nHeads * headDim, nTok * 7 + headDim, 3);
      const half = nRot / 2;
      const cos = new Float32Array(nTok * half);
      const sin = new Float32Array(nTok * half);
      for (let t = 0; t < nTok; t++)
        for (let i = 0; i < half; i++) {
          const a = (t + 11) * Math.pow(10000, (-2 * i) / nRot);
          cos[t * half + i] = Math.cos(a);
          sin[t * half + i] = Math.sin(a);
        }
      const r = x.slice();
      ref.ropeAngles(r, nTok, nHeads, headDim, nRot, cos, sin, neox);
      const a = x.slice();
      ks1.ropeAngles(a, nTok, nHeads, headDim, nRot, cos, sin, neox);
      const b = ks2.alloc(x.length);
      b.set(x);
      ks2.ropeAngles(b, nTok, nHeads, headDim, nRot, cos, sin, neox);
      assert.ok(maxAbs(a, r) <= 4e-7 * 4, `diff ${maxAbs(a, r)}`);
      assert.deepEqual(Array.from(b), Array.from(a));
      // dims past nRot untouched
      for (let t = 0; t < nTok; t++)
        for (let h = 0; h < nHeads; h++)
          for (let d = nRot; d < headDim; d++) {
            const i = (t * nHeads + h) * headDim + d;
            assert.equal(a[i], x[i]);
          }
    });
  }
}

test("ropeAngles argument errors are KernelErrors", () => {
  const x = new Float32Array(16);
  assert.throws(() => ks1.ropeAngles(x, 1, 2, 8, 9, new Float32Array(8), new Float32Array(8), true), {
    name: "KernelError",
  });
  assert.throws(() => ks1.ropeAngles(x, 1, 2, 8, 8, new Float32Array(3), new Float32Array(4), true), {
    name: "KernelError",
  });
});
