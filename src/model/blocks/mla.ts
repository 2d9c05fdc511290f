/**
 * Multi-head latent attention (DeepSeek-V2/V3), in the weight-absorbed form llama.cpp runs:
 *   q      = wq x  or  wqB rmsnorm(wqA x)             [nHead][nope + rope]
 *   [c|kr] = wkvAMqa x; c = rmsnorm(c); kr = rope(kr)  latent [kvLoraRank], shared rope key [rope]
 *   qc[h]  = wkB[h] q_nope[h]                          (q moved into latent space) [kvLoraRank]
 *   score  = scale * ([qc | rope(q_pe)] . [c | kr])    one KV "head" shared by all heads (MQA)
 *   o[h]   = wvB[h] (sum_j p_j c_j);  out = wo o
 * The cache stores only [c | kr] per token and layer; V is read from its first kvLoraRank floats.
 */
import type { KVCache } from "../../kv/cache.js";
import type { PagedKV } from "../../kernels/kernel-set.js";
import { fp16Table, fp32ToFp16 } from "../../quant/f16.js";
import type { MlaConfig, ModelConfig } from "../arch/config.js";
import type { MlaWeights } from "../bind.js";
import { expertSlice } from "../weights.js";
import type { BlockOps } from "./ops.js";
import { rmsNorm } from "./norm.js";
import type { Rope, RopeAngles } from "./rope.js";

/** Floats per cached token per layer: latent + decoupled rope key. */
export function mlaCacheWidth(m: MlaConfig): number {
  return m.kvLoraRank + m.ropeDim;
}

/**
 * Everything per token before the cache (position enters only through `angles`, so several
 * sequences' tokens can go through as one batch): absorbed queries qa [nTok][H][kvLoraRank | rope]
 * and the cache rows kv [nTok][kvLoraRank | rope] (latent normed, rope key rotated).
 */
export function mlaQKV(
  ops: BlockOps,
  c: ModelConfig,
  w: MlaWeights,
  rope: Rope,
  angles: RopeAngles[],
  x: Float32Array,
  nTok: number,
): { qa: Float32Array; kv: Float32Array } {
  const m = c.mla!;
  const H = c.nHead;
  const qHead = m.nopeDim + m.ropeDim;
  const q = new Float32Array(nTok * H * qHead);
  if (w.wq) {
    ops.matmul(w.wq, x, nTok, q);
  } else {
    const qa = new Float32Array(nTok * m.qLoraRank);
    ops.matmul(w.wqA!, x, nTok, qa);
    for (let t = 0; t < nTok; t++)
      rmsNorm(qa, t * m.qLoraRank, m.qLoraRank, w.qANorm, c.rmsEps, qa, t * m.qLoraRank);
    ops.matmul(w.wqB!, qa, nTok, q);
  }
  const kw = mlaCacheWidth(m);
  const kv = new Float32Array(nTok * kw);
  ops.matmul(w.wkvAMqa, x, nTok, kv);
  for (let t = 0; t < nTok; t++) {
    rmsNorm(kv, t * kw, m.kvLoraRank, w.kvANorm, c.rmsEps, kv, t * kw);
    rope.apply(kv, t * kw + m.kvLoraRank, 1, kw, angles[t]);
    rope.apply(q, t * H * qHead + m.nopeDim, H, qHead, angles[t]);
  }
  // Absorbed queries: [nTok][H][kvLoraRank | rope].
  const qa = new Float32Array(nTok * H * kw);
  const nope = new Float32Array(nTok * m.nopeDim);
  const qc = new Float32Array(nTok * m.kvLoraRank);
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < nTok; t++)
      nope.set(q.subarray((t * H + h) * qHead, (t * H + h) * qHead + m.nopeDim), t * m.nopeDim);
    ops.matmul(expertSlice(w.wkB, h), nope, nTok, qc);
    for (let t = 0; t < nTok; t++) {
      const o = (t * H + h) * kw;
      qa.set(qc.subarray(t * m.kvLoraRank, (t + 1) * m.kvLoraRank), o);
      qa.set(q.subarray((t * H + h) * qHead + m.nopeDim, (t * H + h + 1) * qHead), o + m.kvLoraRank);
    }
  }
  return { qa, kv };
}

/** One sequence's part: write its kv rows at pos0.. and attend; lat [nTok][H][kvLoraRank]. */
export function mlaCore(
  ops: BlockOps,
  c: ModelConfig,
  cache: KVCache,
  layer: number,
  qa: Float32Array,
  kv: Float32Array,
  nTok: number,
  pos0: number,
  lat: Float32Array,
): void {
  const m = c.mla!;
  const kw = mlaCacheWidth(m);
  if (cache.writeRows) cache.writeRows(layer, pos0, nTok, kv, 0, kv, 0);
  else for (let t = 0; t < nTok; t++) cache.writeK(layer, pos0 + t, kv, t * kw);
  const view = cache.kernelView?.(layer);
  if (view) {
    mlaAttendPaged(view.kv, kw, m.kvLoraRank, c.nHead, c.attnScale, qa, nTok, pos0, lat);
    return;
  }
  ops.attend(
    {
      nHead: c.nHead,
      nHeadKV: 1,
      headDimK: kw,
      headDimV: m.kvLoraRank,
      scale: c.attnScale,
      slidingWindow: 0,
    },
    cache,
    layer,
    qa,
    nTok,
    pos0,
    lat,
  );
}

const HALF = fp16Table();
let SCORES = new Float64Array(256);

/**
 * MLA attention over the latent rows of a paged cache in kernel memory, read in place (the
 * production path; a WASM MLA variant of attention_paged would replace this TS loop). Same
 * arithmetic as blocks/attention.ts `attend` on that cache: one KV "head" of width kw shared by all
 * H query heads, V = the first R floats of each row; q (and p) rounded through half for an f16
 * cache. qa [nTok][H][kw] -> lat [nTok][H][R].
 */
export function mlaAttendPaged(
  kv: PagedKV,
  kw: number,
  R: number,
  H: number,
  scale: number,
  qa: Float32Array,
  nTok: number,
  pos0: number,
  lat: Float32Array,
): void {
  const K = kv.k;
  const B = kv.blockSize;
  const half = kv.half;
  const f = Math.fround;
  if (SCORES.length < pos0 + nTok) SCORES = new Float64Array(Math.max(pos0 + nTok, 2 * SCORES.length));
  const sc = SCORES;
  lat.fill(0, 0, nTok * H * R);
  for (let t = 0; t < nTok; t++) {
    const pos = pos0 + t;
    for (let h = 0; h < H; h++) {
      const qo = (t * H + h) * kw;
      if (half) for (let i = 0; i < kw; i++) qa[qo + i] = HALF[fp32ToFp16(qa[qo + i])];
      let max = -Infinity;
      for (let j = 0; j <= pos; j++) {
        const base = (kv.table[Math.floor(j / B)] * B + (j % B)) * kw;
        let s = 0;
        if (half) for (let i = 0; i < kw; i++) s += HALF[K[base + i]] * qa[qo + i];
        else for (let i = 0; i < kw; i++) s += K[base + i] * qa[qo + i];
        const v = f(f(s) * scale);
        sc[j] = v;
        if (v > max) max = v;
      }
      let sum = 0;
      for (let j = 0; j <= pos; j++) {
        const e = f(Math.exp(sc[j] - max));
        sc[j] = e;
        sum += e;
      }
      const inv = f(1 / sum);
      const oo = (t * H + h) * R;
      for (let j = 0; j <= pos; j++) {
        let p = f(sc[j] * inv);
        if (half) p = HALF[fp32ToFp16(p)];
        const base = (kv.table[Math.floor(j / B)] * B + (j % B)) * kw;
        if (half) for (let i = 0; i < R; i++) lat[oo + i] += p * HALF[K[base + i]];
        else for (let i = 0; i < R; i++) lat[oo + i] += p * K[base + i];
      }
    }
  }
}

/** Per-token again: values out of latent space per head, then the output projection -> out [nTok, nEmbd]. */
export function mlaOut(
  ops: BlockOps,
  c: ModelConfig,
  w: MlaWeights,
  lat: Float32Array,
  nTok: number,
  out: Float32Array,
): void {
  const m = c.mla!;
  const H = c.nHead;
  // Per-head value up-projection back out of latent space: o [nTok][H][vDim].
  const o = new Float32Array(nTok * H * m.vDim);
  const lh = new Float32Array(nTok * m.kvLoraRank);
  const oh = new Float32Array(nTok * m.vDim);
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < nTok; t++)
      lh.set(lat.subarray((t * H + h) * m.kvLoraRank, (t * H + h + 1) * m.kvLoraRank), t * m.kvLoraRank);
    ops.matmul(expertSlice(w.wvB, h), lh, nTok, oh);
    for (let t = 0; t < nTok; t++) o.set(oh.subarray(t * m.vDim, (t + 1) * m.vDim), (t * H + h) * m.vDim);
  }
  ops.matmul(w.wo, o, nTok, out);
}
