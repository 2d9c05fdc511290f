/**
 * WASM SIMD non-matrix ops (siluMul, add, rmsNorm, attention) against the TypeScript reference
 * set, on odd sizes (tails that are not multiples of 4, sizes above the threading threshold),
 * arrays inside and outside WASM memory, 1 and 2 threads. Tolerances: 2e-6 relative for add and
 * rmsNorm (f32 summation order), 1e-5 for siluMul (our exp polynomial, < 2e-7 relative error) and
 * attention (online vs two-pass softmax). 1 and 2 threads must agree bit for bit.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { randomF32, maxRelDiff } from "./helpers.js";

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

/** A copy of a inside ks's memory. */
function inMem(ks: WasmKernelSet, a: Float32Array): Float32Array {
  const v = ks.alloc(a.length);
  v.set(a);
  return v;
}

for (const n of [1, 7, 4096, 70001]) {
  test(`siluMul and add, n=${n}`, () => {
    const g = randomF32(n, n, 12);
    const u = randomF32(n, n + 1, 2);
    const er = new Float32Array(n);
    ref.siluMul(g, u, er, n);
    const e1 = new Float32Array(n);
    ks1.siluMul(g, u, e1, n);
    const e2 = ks2.alloc(n);
    ks2.siluMul(inMem(ks2, g), inMem(ks2, u), e2, n);
    assert.ok(maxRelDiff(e1, er, n) <= 1e-5, `siluMul ${maxRelDiff(e1, er, n)}`);
    assert.deepEqual(Float32Array.from(e2), e1);
    const ar = new Float32Array(n);
    ref.add(g, u, ar, n);
    const a1 = Float32Array.from(g);
    ks1.add(a1, u, a1, n); // out aliases a
    assert.deepEqual(a1, ar);
  });
}

test("rmsNorm: 1 row of 4097, 40 rows of 2048 (threaded), in and out of WASM memory", () => {
  for (const [n, rows] of [
    [4097, 1],
    [2048, 40],
  ] as const) {
    const x = randomF32(n * rows, n, 3);
    const w = randomF32(n, n + 5);
    const r = new Float32Array(n * rows);
    ref.rmsNorm(x, w, r, n, rows, 1e-5);
    const o1 = new Float32Array(n * rows);
    ks1.rmsNorm(x, w, o1, n, rows, 1e-5);
    const o2 = ks2.alloc(n * rows);
    ks2.rmsNorm(inMem(ks2, x), inMem(ks2, w), o2, n, rows, 1e-5);
    assert.ok(maxRelDiff(o1, r, n * rows) <= 2e-6, `rmsNorm ${maxRelDiff(o1, r, n * rows)}`);
    assert.deepEqual(Float32Array.from(o2), o1);
  }
});

const CASES: [string, number, number, number, number, number, number][] = [
  // name, nTokens, nKV, nHead, nHeadKV, hd, pos0
  ["decode GQA 8/2 hd 64, 300 positions", 1, 300, 8, 2, 64, 299],
  ["decode MHA hd 80 (tail), 1 position", 1, 1, 3, 3, 80, 0],
  ["prefill causal GQA 6/3 hd 36, 17 tokens after 5 cached", 17, 22, 6, 3, 36, 5],
  ["decode MQA hd 6 (not a multiple of 4), long cache", 1, 2000, 4, 1, 6, 1999],
];
for (const [name, nTok, nKV, nHead, nHeadKV, hd, pos0] of CASES) {
  test(`attention ${name}`, () => {
    const q = randomF32(nTok * nHead * hd, 1 + nKV, 2);
    const k = randomF32(nKV * nHeadKV * hd, 2 + nKV, 2);
    const v = randomF32(nKV * nHeadKV * hd, 3 + nKV);
    const nq = nTok * nHead * hd;
    const r = new Float32Array(nq);
    ref.attention(q, k, v, r, nTok, nKV, nHead, nHeadKV, hd, pos0);
    const o1 = new Float32Array(nq);
    ks1.attention(q, k, v, o1, nTok, nKV, nHead, nHeadKV, hd, pos0);
    const o2 = ks2.alloc(nq);
    ks2.attention(inMem(ks2, q), inMem(ks2, k), inMem(ks2, v), o2, nTok, nKV, nHead, nHeadKV, hd, pos0);
    assert.ok(maxRelDiff(o1, r, nq) <= 1e-5, `attention ${maxRelDiff(o1, r, nq)}`);
    assert.deepEqual(Float32Array.from(o2), o1);
  });
}

test("WASM ops reject bad shapes with KernelError", () => {
  const a = new Float32Array(8);
  assert.throws(() => ks1.siluMul(a, a, a, 9), { name: "KernelError" });
  assert.throws(() => ks1.rmsNorm(a, a, a, 8, 2), { name: "KernelError" });
  assert.throws(() => ks1.attention(a, a, a, a, 1, 2, 3, 2, 1, 1), { name: "KernelError" });
  assert.throws(() => ks1.attention(a, a, a, a, 2, 2, 1, 1, 1, 1), { name: "KernelError" });
});
