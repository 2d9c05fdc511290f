/**
 * The vision encoder's element-wise ops and its bidirectional attention on the kernels.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { activate, gelu, geluQuick, layerNorm } from "../../src/vision/ops.js";
import { f32ToFp16, fp16ToF32 } from "../../src/kernels/ref/fp16.js";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { createWasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import type { KernelSet } from "../../src/kernels/kernel-set.js";
import { randomF32 } from "../kernels/helpers.js";

test("GELU and quick GELU: half-precision results of half-precision inputs, as ggml's CPU tables", () => {
  const isHalf = (v: number) => fp16ToF32(f32ToFp16(v)) === v;
  for (const x of [-12, -9.99, -3.3, -1, -0.0123, 0, 1e-4, 0.5, 1.7, 3.25, 9.5, 11]) {
    const g = gelu(x);
    const q = geluQuick(x);
    if (x > -10 && x < 10) assert.ok(isHalf(g), `gelu(${x}) = ${g} is a half`);
    assert.ok(isHalf(q) || Math.abs(x) >= 65504, `gelu_quick(${x}) is a half`);
    const exact = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    assert.ok(Math.abs(g - exact) <= 2e-3 * Math.max(1, Math.abs(x)), `gelu(${x}) ${g} vs ${exact}`);
    const exactQ = x / (1 + Math.exp(-1.702 * x));
    assert.ok(Math.abs(q - exactQ) <= 2e-3 * Math.max(1, Math.abs(x)), `gelu_quick(${x}) ${q} vs ${exactQ}`);
  }
  assert.equal(gelu(-10), 0, "ggml passes x <= -10 as 0");
  assert.equal(gelu(10.5), 10.5, "and x >= 10 as x");
});

test("activate: the half-table GELUs equal the scalar ones bit for bit, on every half and between", () => {
  // every half value, the f32 values just beside each (rounding ties and carries), f32 subnormals,
  // the +-10 tails, overflow past 65504, infinities and NaN
  const xs: number[] = [];
  for (let h = 0; h < 65536; h++) {
    const v = fp16ToF32(h);
    xs.push(v, v * (1 + 2 ** -12), v * (1 - 2 ** -12), v * (1 + 2 ** -11));
  }
  xs.push(
    1e-40,
    -1e-40,
    3e-8,
    -3e-8,
    6.1e-5,
    65519,
    65520,
    -65520,
    1e6,
    -10,
    10,
    -9.999,
    9.999,
    Infinity,
    -Infinity,
    NaN,
  );
  const base = Float32Array.from(xs);
  for (const [act, fn] of [
    ["gelu", gelu],
    ["gelu_quick", geluQuick],
  ] as const) {
    const got = base.slice();
    activate(act, got);
    const want = Float32Array.from(base, (x) => fn(x));
    const gb = new Uint32Array(got.buffer);
    const wb = new Uint32Array(want.buffer);
    let bad = 0;
    for (let i = 0; i < gb.length; i++)
      if (gb[i] !== wb[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) bad++;
    assert.equal(bad, 0, `${act}: ${bad} of ${gb.length} values differ from the scalar path`);
  }
});

test("layerNorm: zero mean, unit variance, then * w + b; in place", () => {
  const n = 37;
  const x = randomF32(n * 3, 5, 4);
  const w = randomF32(n, 6, 1);
  const b = randomF32(n, 7, 1);
  const plain = x.slice();
  layerNorm(plain, plain, n, 3, 1e-5, undefined);
  for (let r = 0; r < 3; r++) {
    const row = plain.subarray(r * n, (r + 1) * n);
    const mean = row.reduce((a, v) => a + v, 0) / n;
    const v = row.reduce((a, y) => a + (y - mean) ** 2, 0) / n;
    assert.ok(Math.abs(mean) < 1e-6 && Math.abs(v - 1) < 1e-4, `row ${r}: mean ${mean} var ${v}`);
  }
  const out = new Float32Array(n * 3);
  layerNorm(x, out, n, 3, 1e-5, { w, b });
  for (let i = 0; i < n * 3; i++)
    assert.equal(out[i], Math.fround(Math.fround(plain[i]! * w[i % n]!) + b[i % n]!));
});

for (const kind of ["ref", "wasm"] as const) {
  test(`attentionFull (${kind}): every query sees every key, equal to a float64 softmax attention`, async () => {
    const ks: KernelSet = kind === "ref" ? new RefKernelSet() : await createWasmKernelSet({ threads: 2 });
    try {
      for (const [n, nHead, hd] of [
        [1, 1, 8],
        [17, 3, 16],
        [65, 2, 64],
        [9, 2, 6],
        [258, 6, 64],
      ]) {
        const q = randomF32(n! * nHead! * hd!, 1, 1);
        const k = randomF32(n! * nHead! * hd!, 2, 1);
        const v = randomF32(n! * nHead! * hd!, 3, 1);
        const out = new Float32Array(q.length);
        ks.attentionFull(q, k, v, out, n!, nHead!, hd!);
        let maxErr = 0;
        for (let t = 0; t < n!; t++) {
          for (let h = 0; h < nHead!; h++) {
            const row = (i: number) => (i * nHead! + h) * hd!;
            const s: number[] = [];
            for (let j = 0; j < n!; j++) {
              let d = 0;
              for (let i = 0; i < hd!; i++) d += q[row(t) + i]! * k[row(j) + i]!;
              s.push(d / Math.sqrt(hd!));
            }
            const m = Math.max(...s);
            const e = s.map((x) => Math.exp(x - m));
            const z = e.reduce((a, b) => a + b, 0);
            for (let i = 0; i < hd!; i++) {
              let acc = 0;
              for (let j = 0; j < n!; j++) acc += (e[j]! / z) * v[row(j) + i]!;
              maxErr = Math.max(maxErr, Math.abs(acc - out[row(t) + i]!));
            }
          }
        }
        assert.ok(maxErr < 1e-5, `n=${n} heads=${nHead} hd=${hd}: max err ${maxErr}`);
      }
    } finally {
      await ks.dispose();
    }
  });
}

for (const kind of ["ref", "wasm"] as const) {
  test(`attentionPaged nonCausal (${kind}): every row sees all nKV positions, = attentionFull`, async () => {
    const ks: KernelSet = kind === "ref" ? new RefKernelSet() : await createWasmKernelSet({ threads: 2 });
    try {
      const [n, nHead, hd] = [19, 2, 32];
      const q = randomF32(n * nHead * hd, 11, 1);
      const k = ks.alloc(n * nHead * hd);
      const v = ks.alloc(n * nHead * hd);
      k.set(randomF32(k.length, 12, 1));
      v.set(randomF32(v.length, 13, 1));
      const kv = { k, v, half: false, table: new Int32Array([0]), blockSize: n };
      const full = new Float32Array(q.length);
      ks.attentionFull(q, k, v, full, n, nHead, hd, 0.3);
      const run = (nonCausal: boolean, window = 0) => {
        const out = new Float32Array(q.length);
        ks.attentionPaged(q, kv, out, n, n, nHead, nHead, hd, 0, 0.3, window, undefined, nonCausal);
        return out;
      };
      const maxDiff = (a: Float32Array, b: Float32Array) =>
        a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
      assert.ok(maxDiff(run(true), full) <= 1e-6, "non-causal paged = full attention");
      assert.ok(maxDiff(run(true, n), full) <= 1e-6, "a window covering all positions cuts nothing");
      assert.ok(maxDiff(run(false), full) > 1e-3, "the causal rows differ");
      assert.throws(() => run(true, n - 1), /window/);
    } finally {
      await ks.dispose();
    }
  });
}
