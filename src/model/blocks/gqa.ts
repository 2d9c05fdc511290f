/**
 * The standard attention sub-layer: q/k/v projections (separate or fused, optional biases),
 * optional per-head q/k RMSNorm, RoPE, KV-cache write, causal attention, output projection.
 * x: [nTok, nEmbd] (already normed) at positions pos0.. -> out: [nTok, nEmbd].
 */
import type { KVCache } from "../../kv/cache.js";
import type { ModelConfig } from "../arch/config.js";
import type { AttnWeights } from "../bind.js";
import { attend } from "./attention.js";
import { matmul } from "./linear.js";
import { rmsNorm } from "./norm.js";
import type { Rope, RopeAngles } from "./rope.js";

function addBias(y: Float32Array, nTok: number, width: number, b: Float32Array | undefined): void {
  if (!b) return;
  for (let t = 0; t < nTok; t++) for (let i = 0; i < width; i++) y[t * width + i] += b[i];
}

export function gqaLayer(
  c: ModelConfig,
  w: AttnWeights,
  rope: Rope,
  angles: RopeAngles[],
  cache: KVCache,
  layer: number,
  x: Float32Array,
  nTok: number,
  pos0: number,
  out: Float32Array,
): void {
  const { q, k, v } = gqaQKV(c, w, rope, angles, x, nTok);
  const o = new Float32Array(nTok * c.nHead * c.headDimV);
  gqaCore(c, cache, layer, q, k, v, nTok, pos0, o);
  matmul(w.wo, o, nTok, out);
}

/**
 * Everything per token before the cache: q/k/v projections, biases, per-head norms and RoPE
 * (angles[t] for token t). Position enters only through `angles`, so the tokens of several
 * sequences can go through here as one batch (src/engine/batch-forward.ts).
 * Returns q [nTok, nHead*headDimK], k [nTok, nHeadKV*headDimK], v [nTok, nHeadKV*headDimV].
 */
export function gqaQKV(c: ModelConfig, w: AttnWeights, rope: Rope, angles: RopeAngles[], x: Float32Array, nTok: number): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const qDim = c.nHead * c.headDimK;
  const kDim = c.nHeadKV * c.headDimK;
  const vDim = c.nHeadKV * c.headDimV;
  const q = new Float32Array(nTok * qDim);
  const k = new Float32Array(nTok * kDim);
  const v = new Float32Array(nTok * vDim);
  if (w.wqkv) {
    // Fused rows are [q; k; v]: one product, then split per token.
    const all = qDim + kDim + vDim;
    const qkv = new Float32Array(nTok * all);
    matmul(w.wqkv, x, nTok, qkv);
    for (let t = 0; t < nTok; t++) {
      q.set(qkv.subarray(t * all, t * all + qDim), t * qDim);
      k.set(qkv.subarray(t * all + qDim, t * all + qDim + kDim), t * kDim);
      v.set(qkv.subarray(t * all + qDim + kDim, (t + 1) * all), t * vDim);
    }
  } else {
    matmul(w.wq!, x, nTok, q);
    matmul(w.wk!, x, nTok, k);
    matmul(w.wv!, x, nTok, v);
  }
  addBias(q, nTok, qDim, w.bq);
  addBias(k, nTok, kDim, w.bk);
  addBias(v, nTok, vDim, w.bv);
  for (let t = 0; t < nTok; t++) {
    if (w.qNorm) for (let h = 0; h < c.nHead; h++) rmsNorm(q, t * qDim + h * c.headDimK, c.headDimK, w.qNorm, c.rmsEps, q, t * qDim + h * c.headDimK);
    if (w.kNorm) for (let h = 0; h < c.nHeadKV; h++) rmsNorm(k, t * kDim + h * c.headDimK, c.headDimK, w.kNorm, c.rmsEps, k, t * kDim + h * c.headDimK);
    rope.apply(q, t * qDim, c.nHead, c.headDimK, angles[t]);
    if (c.spec.scaleQ) for (let i = t * qDim; i < (t + 1) * qDim; i++) q[i] = Math.fround(q[i] * c.attnScale);
    rope.apply(k, t * kDim, c.nHeadKV, c.headDimK, angles[t]);
  }
  return { q, k, v };
}

/**
 * One sequence's part: write k/v of its nTok tokens at positions pos0.. into its cache and attend
 * causally; o [nTok, nHead*headDimV] (before the output projection).
 */
export function gqaCore(c: ModelConfig, cache: KVCache, layer: number, q: Float32Array, k: Float32Array, v: Float32Array, nTok: number, pos0: number, o: Float32Array): void {
  const kDim = c.nHeadKV * c.headDimK;
  const vDim = c.nHeadKV * c.headDimV;
  for (let t = 0; t < nTok; t++) {
    cache.writeK(layer, pos0 + t, k, t * kDim);
    cache.writeV(layer, pos0 + t, v, t * vDim);
  }
  const scale = c.spec.scaleQ ? 1 : c.attnScale;
  const kv = cache.kernelView?.(layer);
  if (kv && c.headDimK === c.headDimV && c.slidingWindow === 0) {
    // Cache rows already live in the KernelSet's memory: its attention (WASM: SIMD, online softmax,
    // threaded by KV-head group) reads them in place. Sums in its own order, not ggml's.
    const nKV = pos0 + nTok;
    kv.ks.attention(q, kv.k.subarray(0, nKV * kDim), kv.v.subarray(0, nKV * vDim), o, nTok, nKV, c.nHead, c.nHeadKV, c.headDimK, pos0, scale);
    return;
  }
  attend(
    { nHead: c.nHead, nHeadKV: c.nHeadKV, headDimK: c.headDimK, headDimV: c.headDimV, scale, slidingWindow: c.slidingWindow },
    cache,
    layer,
    q,
    nTok,
    pos0,
    o,
  );
}
