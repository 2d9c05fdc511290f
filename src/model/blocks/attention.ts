/**
 * Causal multi-head attention over the KV cache, with grouped KV heads (GQA/MQA: query head h reads
 * KV head h / (nHead / nHeadKV)) and an optional sliding window. Scores use ggml's order:
 * softmax(scale * q.k) with max subtraction, sum in double, then out = sum_j p_j v_j.
 */
import type { KVCache } from "../../kv/cache.js";
import { dotGgml, softmaxExpGgml } from "./ggml-dot.js";

const f = Math.fround;
const KV_PAD = 32;

export interface AttnShape {
  nHead: number;
  nHeadKV: number;
  /** Per-head q/k size read from the cache (dot length) and per-head V size. */
  headDimK: number;
  headDimV: number;
  scale: number;
  /** 0 = unlimited; else a query at p sees keys p - window + 1 .. p. */
  slidingWindow: number;
}

/**
 * q: [nTok, nHead * headDimK] at positions pos0 + t; out: [nTok, nHead * headDimV].
 * K row layout in the cache: [nHeadKV][headDimK]; V row layout: [nHeadKV][headDimV].
 */
export function attend(s: AttnShape, cache: KVCache, layer: number, q: Float32Array, nTok: number, pos0: number, out: Float32Array): void {
  if (cache.readRow) {
    attendOrdered(s, cache, layer, q, nTok, pos0, out);
    return;
  }
  const group = s.nHead / s.nHeadKV;
  const qStride = s.nHead * s.headDimK;
  const oStride = s.nHead * s.headDimV;
  const scores = new Float64Array(pos0 + nTok);
  out.fill(0, 0, nTok * oStride);
  for (let t = 0; t < nTok; t++) {
    const pos = pos0 + t;
    const lo = s.slidingWindow > 0 ? Math.max(0, pos - s.slidingWindow + 1) : 0;
    for (let h = 0; h < s.nHead; h++) {
      const kvh = Math.floor(h / group);
      const qo = t * qStride + h * s.headDimK;
      cache.roundInput(q, qo, s.headDimK);
      let max = -Infinity;
      for (let j = lo; j <= pos; j++) {
        const v = f(f(cache.dotK(layer, j, kvh * s.headDimK, q, qo, s.headDimK)) * s.scale);
        scores[j] = v;
        if (v > max) max = v;
      }
      let sum = 0;
      for (let j = lo; j <= pos; j++) {
        const e = f(Math.exp(scores[j] - max));
        scores[j] = e;
        sum += e;
      }
      const inv = f(1 / sum);
      const oo = t * oStride + h * s.headDimV;
      const p = new Float32Array(1);
      for (let j = lo; j <= pos; j++) {
        p[0] = scores[j] * inv;
        cache.roundInput(p, 0, 1);
        cache.addV(layer, j, kvh * s.headDimV, p[0], out, oo, s.headDimV);
      }
    }
  }
}

/**
 * The same attention with every sum in ggml's float32 order (see ggml-dot.ts), as llama.cpp's
 * non-flash graph runs it: KQ = mul_mat(K, q) per head (F16 cache: q rounded to half, contiguous
 * copy -> tinyBLAS for 2+ tokens; F32 cache: q is a permuted view -> vec_dot), softmax in float
 * with a double sum, then KQV = mul_mat(V^T, P) over all nKv cached positions (masked ones are
 * zeros; F16 cache: P rounded to half). Results are bit-identical across cache types' layouts.
 */
function attendOrdered(s: AttnShape, cache: KVCache, layer: number, q: Float32Array, nTok: number, pos0: number, out: Float32Array): void {
  const group = s.nHead / s.nHeadKV;
  const qStride = s.nHead * s.headDimK;
  const oStride = s.nHead * s.headDimV;
  // llama.cpp pads the number of KV cells it attends over (n_kv) to a multiple of 32; the padding
  // cells are masked (-inf -> 0) but decide which lanes and blocks the sums use.
  const nKv = Math.ceil((pos0 + nTok) / KV_PAD) * KV_PAD;
  const half = cache.shape.dtype === "f16";
  // Per KV head: K rows [nKv][headDimK] and V transposed [headDimV][nKv].
  const K = new Float32Array(nKv * s.headDimK);
  const Vt = new Float32Array(s.headDimV * nKv);
  const vRow = new Float32Array(s.headDimV);
  const qh = new Float32Array(s.headDimK);
  const p = new Float32Array(nKv);
  for (let kvh = 0; kvh < s.nHeadKV; kvh++) {
    for (let j = 0; j < pos0 + nTok; j++) {
      cache.readRow!("k", layer, j, kvh * s.headDimK, K, j * s.headDimK, s.headDimK);
      cache.readRow!("v", layer, j, kvh * s.headDimV, vRow, 0, s.headDimV);
      for (let d = 0; d < s.headDimV; d++) Vt[d * nKv + j] = vRow[d];
    }
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      for (let t = 0; t < nTok; t++) {
        const pos = pos0 + t;
        const lo = s.slidingWindow > 0 ? Math.max(0, pos - s.slidingWindow + 1) : 0;
        qh.set(q.subarray(t * qStride + h * s.headDimK, t * qStride + (h + 1) * s.headDimK));
        cache.roundInput(qh, 0, s.headDimK);
        // Softmax over the whole KV row as ggml does (masked positions are -inf -> 0).
        p.fill(-Infinity);
        let max = -Infinity;
        for (let j = lo; j <= pos; j++) {
          const v = f(dotGgml(K, j * s.headDimK, qh, 0, s.headDimK, nTok, half, half) * s.scale);
          p[j] = v;
          if (v > max) max = v;
        }
        const inv = f(1 / softmaxExpGgml(p, nKv, max));
        for (let j = 0; j < nKv; j++) p[j] = f(p[j] * inv);
        cache.roundInput(p, lo, pos - lo + 1);
        const oo = t * oStride + h * s.headDimV;
        for (let d = 0; d < s.headDimV; d++) out[oo + d] = dotGgml(Vt, d * nKv, p, 0, nKv, nTok, half, true);
      }
    }
  }
}

