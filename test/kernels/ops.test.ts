/**
 * Element-wise and attention ops (shared TS implementation) against f64 formulas and structural
 * identities: NeoX RoPE equals normal RoPE under the pair permutation, causal prefill equals
 * per-token decode over the truncated cache, GQA heads read their group's KV head.
 * Tolerances: 1e-6 relative (norm, softmax, silu), 1e-4 absolute for RoPE (ggml's float32 angle
 * recurrence vs exact powers, small positions), 1e-6 for attention identities.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { randomF32 } from "./helpers.js";

const ks = new RefKernelSet();

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test("rmsNorm matches the f64 formula, 3 rows of 37", () => {
  const n = 37;
  const x = randomF32(3 * n, 1, 3);
  const w = randomF32(n, 2);
  const out = new Float32Array(3 * n);
  ks.rmsNorm(x, w, out, n, 3, 1e-5);
  const exp: number[] = [];
  for (let r = 0; r < 3; r++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[r * n + i]! ** 2;
    for (let i = 0; i < n; i++) exp.push((x[r * n + i]! / Math.sqrt(ss / n + 1e-5)) * w[i]!);
  }
  close(out, exp, 1e-6, "rmsNorm");
});

test("softmax rows sum to 1 and match exp ratios; siluMul and add", () => {
  const x = randomF32(2 * 19, 3, 20);
  const orig = Float32Array.from(x);
  ks.softmax(x, 19, 2);
  for (let r = 0; r < 2; r++) {
    const row = [...orig.subarray(r * 19, r * 19 + 19)];
    const m = Math.max(...row);
    const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
    close(
      x.subarray(r * 19, r * 19 + 19),
      row.map((v) => Math.exp(v - m) / z),
      1e-6,
      "softmax",
    );
  }
  const g = randomF32(50, 4, 8);
  const u = randomF32(50, 5);
  const o = new Float32Array(50);
  ks.siluMul(g, u, o, 50);
  close(
    o,
    [...g].map((v, i) => (v / (1 + Math.exp(-v))) * u[i]!),
    1e-6,
    "siluMul",
  );
  ks.add(g, u, o, 50);
  close(
    o,
    [...g].map((v, i) => v + u[i]!),
    1e-7,
    "add",
  );
});

test("rope (normal) matches exact rotation; NeoX equals normal under the pair permutation", () => {
  const nTok = 3,
    nH = 2,
    hd = 16,
    pos0 = 5,
    theta = 10000;
  const x = randomF32(nTok * nH * hd, 6);
  const a = Float32Array.from(x);
  ks.rope(a, nTok, nH, hd, pos0, { theta, neox: false });
  const exp = new Float64Array(x.length);
  for (let t = 0; t < nTok; t++)
    for (let h = 0; h < nH; h++)
      for (let i = 0; i < hd / 2; i++) {
        const ang = (pos0 + t) * Math.pow(theta, (-2 * i) / hd);
        const b = (t * nH + h) * hd;
        const x0 = x[b + 2 * i]!,
          x1 = x[b + 2 * i + 1]!;
        exp[b + 2 * i] = x0 * Math.cos(ang) - x1 * Math.sin(ang);
        exp[b + 2 * i + 1] = x0 * Math.sin(ang) + x1 * Math.cos(ang);
      }
  close(a, exp, 1e-4, "rope normal");
  // NeoX: pair (i, i+hd/2). Permute each head so (2i, 2i+1) -> (i, i+hd/2), rope, permute back.
  const perm = (src: Float32Array, toNeox: boolean) => {
    const d = new Float32Array(src.length);
    for (let b = 0; b < src.length; b += hd)
      for (let i = 0; i < hd / 2; i++) {
        if (toNeox) ((d[b + i] = src[b + 2 * i]!), (d[b + i + hd / 2] = src[b + 2 * i + 1]!));
        else ((d[b + 2 * i] = src[b + i]!), (d[b + 2 * i + 1] = src[b + i + hd / 2]!));
      }
    return d;
  };
  const n = perm(x, true);
  ks.rope(n, nTok, nH, hd, pos0, { theta, neox: true });
  assert.deepEqual(perm(n, false), a);
  // Partial rotation leaves the tail untouched.
  const p = Float32Array.from(x);
  ks.rope(p, nTok, nH, hd, pos0, { theta, neox: false, nRot: 8 });
  for (let b = 0; b < p.length; b += hd)
    assert.deepEqual(p.subarray(b + 8, b + hd), x.subarray(b + 8, b + hd));
});

test("attention: causal prefill equals per-token decode; GQA groups; single entry returns v", () => {
  const nKV = 7,
    nH = 4,
    nHKV = 2,
    hd = 8;
  const q = randomF32(nKV * nH * hd, 7);
  const k = randomF32(nKV * nHKV * hd, 8);
  const v = randomF32(nKV * nHKV * hd, 9);
  const out = new Float32Array(q.length);
  ks.attention(q, k, v, out, nKV, nKV, nH, nHKV, hd, 0);
  for (let t = 0; t < nKV; t++) {
    const o1 = new Float32Array(nH * hd);
    const n = t + 1;
    ks.attention(
      q.subarray(t * nH * hd),
      k.subarray(0, n * nHKV * hd),
      v.subarray(0, n * nHKV * hd),
      o1,
      1,
      n,
      nH,
      nHKV,
      hd,
      t,
    );
    close(out.subarray(t * nH * hd, (t + 1) * nH * hd), o1, 1e-6, `token ${t}`);
  }
  // Token 0 sees only cache entry 0: every head returns its KV head's v[0].
  for (let h = 0; h < nH; h++)
    close(
      out.subarray(h * hd, (h + 1) * hd),
      v.subarray((h >> 1) * hd, ((h >> 1) + 1) * hd),
      1e-6,
      `head ${h}`,
    );
  assert.throws(() => ks.attention(q, k, v, out, 1, nKV, 3, 2, hd, 0), { name: "KernelError" });
  assert.throws(() => ks.attention(q, k, v, out, 2, nKV, nH, nHKV, hd, nKV - 1), { name: "KernelError" });
});
