/**
 * The vision encoder's training stack (src/train/vision): the new ops' hand-written backward
 * against central finite differences (float64), the whole encoder + cell loss likewise, the
 * training forward against the inference encoder (src/vision, itself checked against
 * llama-mtmd-cli's embeddings in test/vision/golden.test.ts) on an mmproj the trainer writes,
 * and determinism: the same seed gives the same run, and a resumed run the same curve.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../../src/sampling/rng.js";
import { layernormBackward, layernormForward } from "../../src/train/ops/layernorm.js";
import { geluBackward, geluForward } from "../../src/train/ops/gelu.js";
import { biasBackward, biasForward } from "../../src/train/ops/bias.js";
import { attentionBackward, attentionForward, type AttnShape } from "../../src/train/ops/attention.js";
import { type VitConfig, VitTrainModel, vitLayout } from "../../src/train/vision/encoder.js";
import { cellLoss } from "../../src/train/vision/loss.js";
import { readVitMmproj, readVitMmprojGrown, writeVitMmproj } from "../../src/train/vision/mmproj.js";
import { trainVit, type VitTrainOptions } from "../../src/train/vision/train.js";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { openVisionModel } from "../../src/vision/index.js";
import { LlamaTrainModel } from "../../src/train/model/llama.js";
import { initParams } from "../../src/train/model/params.js";
import { sampleBatch } from "../../src/train/batches.js";
import type { TrainModelConfig } from "../../src/train/model/config.js";
import { fdCheck } from "./fd-check.js";

const rng = new Rng(321);
const rand = (n: number, s = 1) => Float64Array.from({ length: n }, () => rng.normal() * s);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

test("layernorm backward (x, weight, bias)", () => {
  const [N, C] = [4, 7];
  const x = rand(N * C, 2);
  const w = rand(C);
  const b = rand(C);
  const G = rand(N * C);
  const y = new Float64Array(N * C);
  const xh = new Float64Array(N * C);
  const r = new Float64Array(N);
  const L = () => (layernormForward(y, xh, r, x, w, b, N, C, 1e-5), dot(G, y));
  L();
  // the forward normalizes each row: mean 0, variance 1 before the affine part
  for (let n = 0; n < N; n++) {
    const row = xh.subarray(n * C, n * C + C);
    const m = row.reduce((s, v) => s + v, 0) / C;
    const v = row.reduce((s, u) => s + u * u, 0) / C;
    assert.ok(Math.abs(m) < 1e-12 && Math.abs(v - 1) < 1e-4, `row ${n}: mean ${m} var ${v}`);
  }
  const dx = new Float64Array(N * C);
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  layernormBackward(dx, dw, db, G, xh, w, r, N, C);
  fdCheck("dx", x, dx, L);
  fdCheck("dw", w, dw, L);
  fdCheck("db", b, db, L);
});

test("tanh GELU backward, and values against the erf-free definition", () => {
  const n = 11;
  const x = rand(n, 3);
  const G = rand(n);
  const y = new Float64Array(n);
  const L = () => (geluForward(y, x, n), dot(G, y));
  L();
  assert.ok(
    Math.abs(y[0] - 0.5 * x[0] * (1 + Math.tanh(0.7978845608028654 * (x[0] + 0.044715 * x[0] ** 3)))) < 1e-12,
  );
  const dx = new Float64Array(n);
  geluBackward(dx, G, x, n);
  fdCheck("dx", x, dx, L);
});

test("bias backward", () => {
  const [N, O] = [3, 5];
  const b = rand(O);
  const base = rand(N * O);
  const G = rand(N * O);
  const y = new Float64Array(N * O);
  const L = () => (y.set(base), biasForward(y, b, N, O), dot(G, y));
  const db = new Float64Array(O);
  biasBackward(db, G, N, O);
  fdCheck("db", b, db, L);
});

test("non-causal attention backward, and that every position sees the whole sequence", () => {
  const s: AttnShape = { B: 2, T: 5, nH: 2, nKV: 2, hd: 3, causal: false };
  const N = s.B * s.T;
  const q = rand(N * s.nH * s.hd);
  const k = rand(N * s.nKV * s.hd);
  const v = rand(N * s.nKV * s.hd);
  const G = rand(N * s.nH * s.hd);
  const out = new Float64Array(q.length);
  const att = new Float64Array(s.B * s.nH * s.T * s.T);
  const L = () => (attentionForward(out, att, q, k, v, s), dot(G, out));
  L();
  // the first position's softmax row is spread over all T keys (causal would put 1 on key 0)
  for (let t2 = 0; t2 < s.T; t2++) assert.ok(att[t2] > 0 && att[t2] < 1, `att[0, ${t2}] = ${att[t2]}`);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  attentionBackward(dq, dk, dv, G, att, q, k, v, s, new Float64Array(s.T));
  fdCheck("dq", q, dq, L);
  fdCheck("dk", k, dk, L);
  fdCheck("dv", v, dv, L);
  // changing the last key changes the first query's output only when non-causal
  const before = out[0];
  k[(s.T - 1) * s.nKV * s.hd] += 1; // sequence 0's last key, head 0
  L();
  assert.notEqual(out[0], before);
});

const TINY: VitConfig = {
  imageSize: 8,
  patchSize: 4,
  dim: 8,
  heads: 2,
  ffn: 12,
  layers: 2,
  mmHidden: 10,
  projDim: 6,
  eps: 1e-5,
};

test("encoder + cell loss: every parameter's gradient against finite differences", () => {
  const B = 2;
  const m = new VitTrainModel(TINY, B, Float64Array);
  const P = m.params as Float64Array;
  for (let i = 0; i < P.length; i++) P[i] = 0.4 * rng.normal();
  for (const e of m.layout.entries)
    if (/ln\d?\.weight$|pre_ln\.weight$/.test(e.name)) for (let i = 0; i < e.size; i++) P[e.offset + i] += 1;
  const pixels = rand(B * 3 * TINY.imageSize ** 2);
  const K = 4;
  const Ec = rand(K * TINY.projDim);
  const targets = Int32Array.from({ length: B * m.T }, () => rng.int(0, K - 1));
  const opts = { lambda: 3, glyphWeight: 5, blank: 0 };
  const L = () => cellLoss(m.forward(pixels), targets, Ec, K, TINY.projDim, opts, null).loss;
  m.zeroGrad();
  const dout = new Float64Array(B * m.T * TINY.projDim);
  cellLoss(m.forward(pixels), targets, Ec, K, TINY.projDim, opts, dout);
  m.backward(dout);
  const g = Float64Array.from(m.grads);
  for (const e of m.layout.entries) {
    // every element of small tensors, a spread of 6 in the larger ones
    const idx =
      e.size <= 24
        ? undefined
        : Array.from({ length: 6 }, (_, j) => e.offset + Math.floor(((j + 0.5) * e.size) / 6));
    fdCheck(e.name, P, g, L, { idx: idx ?? Array.from({ length: e.size }, (_, j) => e.offset + j) });
  }
  // and the loss's gradient w.r.t. the rows themselves
  const rows = Float64Array.from(m.forward(pixels));
  const dr = new Float64Array(rows.length);
  cellLoss(rows, targets, Ec, K, TINY.projDim, opts, dr);
  fdCheck("drows", rows, dr, () => cellLoss(rows, targets, Ec, K, TINY.projDim, opts, null).loss);
});

test('cell loss with metric "dist": gradient against finite differences, and its pick is the nearest candidate', () => {
  const E = 6;
  const K = 5;
  const N = 7;
  const Ec = rand(K * E);
  const rows = Float64Array.from(rand(N * E), (v) => 1.5 * v);
  const targets = Int32Array.from({ length: N }, () => rng.int(0, K - 1));
  for (const tau of [0.5, 3]) {
    const opts = { lambda: 2, glyphWeight: 4, blank: 0, metric: "dist" as const, tau };
    const dr = new Float64Array(rows.length);
    const r = cellLoss(rows, targets, Ec, K, E, opts, dr);
    fdCheck(`drows tau ${tau}`, rows, dr, () => cellLoss(rows, targets, Ec, K, E, opts, null).loss);
    for (let n = 0; n < N; n++) {
      const d = (k: number) => {
        let s = 0;
        for (let i = 0; i < E; i++) s += (rows[n * E + i] - Ec[k * E + i]) ** 2;
        return s;
      };
      let best = 0;
      for (let k = 1; k < K; k++) if (d(k) < d(best)) best = k;
      assert.equal(r.pred[n], best, `row ${n}`);
    }
  }
  // a row sitting on its target with far-apart candidates has almost no CE left at a large tau
  const far = new Float64Array(K * E);
  for (let k = 0; k < K; k++) far[k * E + k] = 3;
  const at = far.slice(0, E);
  const one = cellLoss(
    at,
    Int32Array.of(0),
    far,
    K,
    E,
    { lambda: 0, glyphWeight: 1, blank: 1, metric: "dist", tau: 2 },
    null,
  );
  assert.ok(one.ce < 1e-6, `ce ${one.ce}`);
});

test("the training forward equals the inference encoder on the mmproj the trainer writes", async () => {
  const cfg: VitConfig = {
    ...TINY,
    imageSize: 16,
    patchSize: 4,
    dim: 16,
    heads: 2,
    ffn: 24,
    mmHidden: 12,
    projDim: 8,
  };
  const m = new VitTrainModel(cfg, 1);
  for (let i = 0; i < m.params.length; i++) m.params[i] = 0.3 * rng.normal();
  const dir = mkdtempSync(join(tmpdir(), "edgellm-vit-"));
  try {
    const path = join(dir, "mmproj.gguf");
    await writeVitMmproj(path, cfg, Float32Array.from(m.params), { mean: 0.5, std: 0.5 });
    assert.deepEqual(await readVitMmproj(path, cfg), Float32Array.from(m.params));
    const vm = await openVisionModel(path, new RefKernelSet());
    const pixels = Float32Array.from(rand(3 * 16 * 16));
    const ref = vm.encodePixels(pixels);
    const out = m.forward(pixels);
    // llama.cpp's LLaVA graph keeps rows 1..n of [patch 0 .. patch n-1, class]
    assert.equal(ref.nTokens, m.T - 1);
    let worst = 0;
    let big = 0;
    for (let t = 0; t < ref.nTokens; t++)
      for (let i = 0; i < cfg.projDim; i++) {
        const a = ref.data[t * cfg.projDim + i];
        worst = Math.max(worst, Math.abs(a - out[(t + 1) * cfg.projDim + i]));
        big = Math.max(big, Math.abs(a));
      }
    assert.ok(big > 0.1, `outputs too small to compare (${big})`);
    // the inference side rounds GELU's input and output to half precision as ggml does (src/vision/ops.ts),
    // so the two agree to the goldens' bound, 1e-3 of the largest output, not to float32 rounding
    assert.ok(worst <= 1e-3 * Math.max(1, big), `max |diff| ${worst} (max |value| ${big})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an encoder grown from an mmproj (one more block, wider FFN) computes the same rows", async () => {
  const small: VitConfig = {
    ...TINY,
    imageSize: 16,
    patchSize: 4,
    dim: 16,
    heads: 2,
    ffn: 24,
    mmHidden: 12,
    projDim: 8,
  };
  const big: VitConfig = { ...small, layers: small.layers + 1, ffn: 40 };
  const m = new VitTrainModel(small, 1);
  for (let i = 0; i < m.params.length; i++) m.params[i] = 0.3 * rng.normal();
  const dir = mkdtempSync(join(tmpdir(), "edgellm-vit-"));
  try {
    const path = join(dir, "mmproj.gguf");
    await writeVitMmproj(path, small, Float32Array.from(m.params), { mean: 0.5, std: 0.5 });
    const grown = await readVitMmprojGrown(path, big, new Rng(9));
    const g = new VitTrainModel(big, 1);
    assert.equal(grown.length, g.layout.total);
    g.params.set(grown);
    // the new capacity is really there: the new block's inner products and the new FFN units are
    // initialised (only the products into the residual stream start at zero)
    const get = (name: string) => {
      const e = g.layout.byName.get(name);
      assert.ok(e, name);
      return grown.subarray(e.offset, e.offset + e.size);
    };
    assert.ok(get(`v.blk.${small.layers}.attn_q.weight`).some((v) => v !== 0));
    assert.ok(
      get("v.blk.0.ffn_up.weight")
        .subarray(24 * 16)
        .some((v) => v !== 0),
    );
    assert.ok(get(`v.blk.${small.layers}.ffn_down.weight`).every((v) => v === 0));
    const pixels = Float32Array.from(rand(3 * 16 * 16));
    const a = Float32Array.from(m.forward(pixels));
    const b = Float32Array.from(g.forward(pixels));
    assert.equal(a.length, b.length);
    let worst = 0;
    let top = 0;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
      top = Math.max(top, Math.abs(a[i]));
    }
    assert.ok(top > 0.1, `outputs too small to compare (${top})`);
    assert.ok(worst <= 1e-5 * top, `max |diff| ${worst} (max |value| ${top})`);
    // shrinking or changing the width is refused
    await assert.rejects(readVitMmprojGrown(path, { ...small, ffn: 16 }, new Rng(1)), /cannot shrink/);
    await assert.rejects(readVitMmprojGrown(path, { ...big, dim: 24, heads: 2 }, new Rng(1)), /keeps dim/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function runOpts(kernels: "ts" | "wasm", extra: Partial<VitTrainOptions> = {}): VitTrainOptions {
  const cfg = { ...TINY, projDim: 6 };
  const n = (cfg.imageSize / cfg.patchSize) ** 2;
  const K = 3;
  const cand = new Rng(7);
  return {
    config: cfg,
    candidates: Float32Array.from({ length: K * cfg.projDim }, () => cand.normal()),
    loss: { lambda: 4, glyphWeight: 8, blank: 0 },
    // a learnable toy task: a patch is class 1 when its mean is positive, 2 when below -0.5, else 0
    sample(r, pixels, at) {
      const S = cfg.imageSize;
      const y = new Int32Array(n);
      for (let i = 0; i < 3 * S * S; i++) pixels[at + i] = r.normal();
      for (let c = 0; c < n; c++) {
        const cy = Math.floor(c / (S / cfg.patchSize));
        const cx = c % (S / cfg.patchSize);
        let s = 0;
        for (let ch = 0; ch < 3; ch++)
          for (let py = 0; py < cfg.patchSize; py++)
            for (let px = 0; px < cfg.patchSize; px++)
              s += pixels[at + ch * S * S + (cy * cfg.patchSize + py) * S + cx * cfg.patchSize + px];
        s /= 3 * cfg.patchSize ** 2;
        y[c] = s > 0 ? 1 : s < -0.5 ? 2 : 0;
      }
      return y;
    },
    batch: 4,
    steps: 6,
    lr: { maxLr: 3e-3, minLr: 3e-4, warmup: 2 },
    clip: 1,
    seed: 9,
    kernels,
    ...extra,
  };
}

for (const kernels of ["ts", "wasm"] as const)
  test(`a short run is deterministic given the seed, and a resumed run continues the same curve (${kernels})`, async () => {
    const a = await trainVit(runOpts(kernels));
    const b = await trainVit(runOpts(kernels));
    assert.deepEqual(a.losses, b.losses);
    assert.deepEqual(Float32Array.from(a.model.params), Float32Array.from(b.model.params));
    const c = await trainVit(runOpts(kernels, { seed: 10 }));
    assert.notDeepEqual(c.losses, a.losses);
    const dir = mkdtempSync(join(tmpdir(), "edgellm-vit-ck-"));
    try {
      const ck = join(dir, "enc.ckpt");
      await trainVit(runOpts(kernels, { stopAt: 3, checkpointPath: ck }));
      const r = await trainVit(runOpts(kernels, { checkpointPath: ck, resumeFrom: ck }));
      assert.deepEqual(r.losses, a.losses);
      assert.deepEqual(Float32Array.from(r.model.params), Float32Array.from(a.model.params));
      await assert.rejects(trainVit(runOpts(kernels, { resumeFrom: ck, clip: 2 })), /different settings/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(vitLayout(runOpts(kernels).config).total, a.model.params.length);
  });

test("language model input rows: a row equal to the token's embedding changes nothing but token_embd's gradient; another row changes the loss", () => {
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
    tied: true,
  };
  const [B, T] = [2, 5];
  const N = B * T;
  const m = new LlamaTrainModel(cfg, B, T, Float64Array);
  initParams(m.params, m.layout, cfg, new Rng(5));
  const tokens = Int32Array.from({ length: N }, (_, i) => (i * 7 + 3) % cfg.vocab);
  const targets = Int32Array.from({ length: N }, (_, i) => (i * 5 + 1) % cfg.vocab);
  const mask = new Uint8Array(N).fill(1);
  const emb = m.layout.byName.get("token_embd.weight")!;
  const at = Uint8Array.from({ length: N }, (_, i) => (i % 3 === 1 ? 1 : 0));
  const rows = new Float32Array(N * cfg.dim);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < cfg.dim; j++) rows[i * cfg.dim + j] = m.params[emb.offset + tokens[i] * cfg.dim + j];
  m.zeroGrad();
  const plain = m.forward(tokens, targets, mask);
  m.backward();
  const g0 = Float64Array.from(m.grads);
  m.zeroGrad();
  const same = m.forward(tokens, targets, mask, undefined, { inputRows: rows, inputAt: at });
  m.backward();
  const g1 = Float64Array.from(m.grads);
  assert.ok(Math.abs(plain - same) < 1e-5 * Math.abs(plain), `${plain} vs ${same}`);
  // every non-embedding gradient agrees (rows are float32, the model float64)
  for (let i = 0; i < g0.length; i++)
    if (i < emb.offset || i >= emb.offset + emb.size)
      assert.ok(Math.abs(g0[i] - g1[i]) < 1e-5 * Math.max(1, Math.abs(g0[i])), `grad ${i}`);
  // the embedding gradient lost exactly the flagged positions' input contribution: differs somewhere
  let diff = 0;
  for (let i = emb.offset; i < emb.offset + emb.size; i++) diff = Math.max(diff, Math.abs(g0[i] - g1[i]));
  assert.ok(diff > 1e-6, "flagged positions still sent gradient to token_embd");
  const other = rows.map((v, i) => v + 0.5 * Math.sin(i));
  m.zeroGrad();
  const moved = m.forward(tokens, targets, mask, undefined, { inputRows: other, inputAt: at });
  assert.ok(Math.abs(moved - plain) > 1e-4, "input rows were ignored");
});

test("sampleBatch carries a set's input rows to the positions of their tokens", () => {
  const C = 3;
  const ids = Int32Array.from({ length: 40 }, (_, i) => i % 7);
  const rowOf = Int32Array.from({ length: 40 }, (_, i) => (i % 5 === 2 ? Math.floor(i / 5) : -1));
  const rows = Float32Array.from({ length: 8 * C }, (_, i) => i + 0.5);
  const set = {
    ids,
    train: new Uint8Array(40).fill(1),
    starts: Int32Array.from([0, 10, 20, 30]),
    pad: 0,
    rowOf,
    rows,
    rowWidth: C,
  };
  const [B, T] = [3, 12];
  const b = sampleBatch(set, B, T, 4, 2);
  const plain = sampleBatch({ ...set, rowOf: undefined }, B, T, 4, 2);
  assert.deepEqual(b.tokens, plain.tokens);
  const inRows = b.inputRows as Float32Array;
  const inAt = b.inputAt as Uint8Array;
  assert.ok(inRows && inAt);
  let flagged = 0;
  for (let i = 0; i < B * T; i++) {
    if (!inAt[i]) continue;
    flagged++;
    const row: Float32Array = inRows.subarray(i * C, i * C + C);
    const r: number = (row[0] - 0.5) / C;
    assert.ok(Number.isInteger(r) && r >= 0 && r < 8, `row ${r}`);
    assert.equal(b.tokens[i], ids[r * 5 + 2], `position ${i} holds row ${r}'s token`);
    assert.deepEqual(Array.from(row), [r * C + 0.5, r * C + 1.5, r * C + 2.5]);
  }
  assert.ok(flagged >= B * 2, `only ${flagged} flagged positions`);
});
