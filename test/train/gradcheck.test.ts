/**
 * Every op's hand-written backward against central finite differences, in float64. For an op
 * y = f(x, w) and a fixed random upstream gradient G, the scalar L = sum(G * y) has
 * dL/dx = backward(G); we compare on every input element.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/sampling/rng.js";
import { matmulBackward, matmulForward } from "../../src/train/ops/matmul.js";
import { rmsnormBackward, rmsnormForward } from "../../src/train/ops/rmsnorm.js";
import { ropeBackward, ropeForward, ropeTable } from "../../src/train/ops/rope.js";
import { swigluBackward, swigluForward } from "../../src/train/ops/swiglu.js";
import { embeddingBackward, embeddingForward } from "../../src/train/ops/embedding.js";
import { attentionBackward, attentionForward, type AttnShape } from "../../src/train/ops/attention.js";
import { crossEntropy } from "../../src/train/ops/crossentropy.js";
import { LlamaTrainModel } from "../../src/train/model/llama.js";
import { initParams } from "../../src/train/model/params.js";
import type { TrainModelConfig } from "../../src/train/model/config.js";
import { fdCheck } from "./fd-check.js";

const rng = new Rng(123);
const rand = (n: number, s = 1) => Float64Array.from({ length: n }, () => rng.normal() * s);
const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i], 0);

for (const [N, I, O] of [
  [3, 5, 7],
  [9, 6, 10],
  [8, 4, 8],
])
  test(`matmul backward (${N}x${I} @ ${O}x${I}^T)`, () => {
    const x = rand(N * I);
    const w = rand(O * I);
    const G = rand(N * O);
    const y = new Float64Array(N * O);
    const L = () => (matmulForward(y, x, w, N, I, O), dot(G, y));
    const dx = new Float64Array(N * I);
    const dw = new Float64Array(O * I);
    matmulBackward(dx, dw, G, x, w, N, I, O);
    fdCheck("dx", x, dx, L);
    fdCheck("dw", w, dw, L);
    // forward against a plain triple loop (the 4x4 tiled path and its edges)
    L();
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++) {
        let r = 0;
        for (let i = 0; i < I; i++) r += x[n * I + i] * w[o * I + i];
        assert.ok(Math.abs(r - y[n * O + o]) < 1e-12);
      }
  });

test("rmsnorm backward", () => {
  const [N, C] = [3, 6];
  const x = rand(N * C);
  const w = rand(C);
  const G = rand(N * C);
  const y = new Float64Array(N * C);
  const r = new Float64Array(N);
  const L = () => (rmsnormForward(y, r, x, w, N, C, 1e-5), dot(G, y));
  L();
  const dx = new Float64Array(N * C);
  const dw = new Float64Array(C);
  rmsnormBackward(dx, dw, G, x, w, r, N, C);
  fdCheck("dx", x, dx, L);
  fdCheck("dw", w, dw, L);
});

test("rope backward, and NORM-mode (adjacent pair) rotation", () => {
  const [B, T, H, hd] = [2, 4, 3, 6];
  const tab = ropeTable(T, hd, 10000);
  const x = rand(B * T * H * hd);
  const G = rand(x.length);
  const y = new Float64Array(x.length);
  const L = () => (ropeForward(y, x, tab, B, T, H), dot(G, y));
  const dx = new Float64Array(x.length);
  ropeBackward(dx, G, tab, B, T, H);
  fdCheck("dx", x, dx, L);
  // position t, pair i rotates (x[2i], x[2i+1]) by t * base^(-2i/hd): check one by hand
  L();
  const t = 3;
  const i = 1;
  const o = (0 * T + t) * H * hd + 2 * i;
  const a = t * Math.pow(10000, (-2 * i) / hd);
  assert.ok(Math.abs(y[o] - (x[o] * Math.cos(a) - x[o + 1] * Math.sin(a))) < 1e-12);
  assert.ok(Math.abs(y[o + 1] - (x[o] * Math.sin(a) + x[o + 1] * Math.cos(a))) < 1e-12);
});

test("swiglu backward", () => {
  const n = 9;
  const g = rand(n, 2);
  const u = rand(n);
  const G = rand(n);
  const y = new Float64Array(n);
  const L = () => (swigluForward(y, g, u, n), dot(G, y));
  const dg = new Float64Array(n);
  const du = new Float64Array(n);
  swigluBackward(dg, du, G, g, u, n);
  fdCheck("dg", g, dg, L);
  fdCheck("du", u, du, L);
});

test("embedding backward (repeated tokens accumulate)", () => {
  const [V, C, N] = [5, 4, 6];
  const wte = rand(V * C);
  const tok = Int32Array.from([1, 3, 1, 0, 4, 1]);
  const G = rand(N * C);
  const y = new Float64Array(N * C);
  const L = () => (embeddingForward(y, tok, wte, N, C), dot(G, y));
  const dw = new Float64Array(V * C);
  embeddingBackward(dw, G, tok, N, C);
  fdCheck("dwte", wte, dw, L);
});

test("causal GQA attention backward, and causality", () => {
  const s: AttnShape = { B: 2, T: 5, nH: 4, nKV: 2, hd: 3 };
  const N = s.B * s.T;
  const q = rand(N * s.nH * s.hd);
  const k = rand(N * s.nKV * s.hd);
  const v = rand(N * s.nKV * s.hd);
  const G = rand(N * s.nH * s.hd);
  const out = new Float64Array(q.length);
  const att = new Float64Array(s.B * s.nH * s.T * s.T);
  const L = () => (attentionForward(out, att, q, k, v, s), dot(G, out));
  L();
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  attentionBackward(dq, dk, dv, G, att, q, k, v, s, new Float64Array(s.T));
  fdCheck("dq", q, dq, L);
  fdCheck("dk", k, dk, L);
  fdCheck("dv", v, dv, L);
  // changing the last position's k/v must not change earlier outputs
  L();
  const before = out.slice();
  const last = (s.T - 1) * s.nKV * s.hd;
  k[last] += 1;
  v[last] += 1;
  L();
  for (let t = 0; t < s.T - 1; t++) {
    for (let j = 0; j < s.nH * s.hd; j++) assert.equal(out[t * s.nH * s.hd + j], before[t * s.nH * s.hd + j]);
  }
});

test("masked cross-entropy backward", () => {
  const [N, V] = [4, 6];
  const logits = rand(N * V, 2);
  const tgt = Int32Array.from([2, 0, 5, 1]);
  const mask = Uint8Array.from([1, 0, 1, 1]);
  const L = () => crossEntropy(logits, tgt, mask, N, V, 3, null) / 3;
  const d = new Float64Array(N * V);
  crossEntropy(logits, tgt, mask, N, V, 3, d);
  fdCheck("dlogits", logits, d, L);
  // a masked-out row contributes nothing
  for (let i = 0; i < V; i++) assert.equal(d[V + i], 0);
});

for (const tied of [false, true]) {
  test(`whole llama model backward (${tied ? "tied" : "untied"} output)`, () => {
    const cfg: TrainModelConfig = {
      vocab: 11,
      dim: 8,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      ffn: 12,
      ctx: 8,
      ropeBase: 10000,
      normEps: 1e-5,
      tied,
    };
    const [B, T] = [2, 5];
    const m = new LlamaTrainModel(cfg, B, T, Float64Array);
    initParams(m.params, m.layout, cfg, new Rng(5));
    // larger weights than the 0.02 init so every path carries a visible gradient
    for (let i = 0; i < m.params.length; i++) m.params[i] += rng.normal() * 0.3;
    const tok = Int32Array.from({ length: B * T }, () => rng.int(0, cfg.vocab - 1));
    const tgt = Int32Array.from({ length: B * T }, () => rng.int(0, cfg.vocab - 1));
    const mask = Uint8Array.from({ length: B * T }, (_, i) => (i % 3 === 1 ? 0 : 1));
    m.zeroGrad();
    m.forward(tok, tgt, mask);
    m.backward();
    const g = Float64Array.from(m.grads);
    fdCheck("params", m.params as Float64Array, g, () => m.forward(tok, tgt, mask), { tol: 1e-5 });
  });
}
