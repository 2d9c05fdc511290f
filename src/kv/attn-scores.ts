/**
 * Accumulated attention per position, for scored eviction (kv/eviction.ts H2O): after a layer's
 * attention over a sequence, add each new query's softmax probabilities to the positions it read,
 * summed over heads (and, across calls, over layers and steps). The attention kernel returns only
 * its output, so the probabilities are recomputed here from the same q rows and stored K rows
 * (dequantized; in the rotated basis when the cache rotates, where q.k is unchanged): O(new tokens
 * x positions x heads x head_dim) per layer, about the cost of the attention itself, paid only by
 * sequences whose policy asks for it.
 */
import type { KVCache } from "./cache.js";
import type { ObservedQueries } from "./obs-queries.js";

export interface ScoreShape {
  nHead: number;
  nHeadKV: number;
  headDim: number;
  /** The scale the attention applies to q.k (1 when q was pre-scaled). */
  scale: number;
  /** 0 = unlimited; else a query at p sees p - window + 1 .. p. */
  window: number;
  /** cap * tanh(x / cap) on q.k before the scale (gemma2); 0 = off. */
  softcap: number;
}

/**
 * out[j] += softmax_j(scale * softcap(q.k_j)) over j = lo..pos for one query head: q's row at
 * q[qr..qr + headDim), K rows at k[j * headDim]; `p` is scratch of at least pos + 1.
 */
function addSoftmaxRow(
  s: ScoreShape,
  q: Float32Array,
  qr: number,
  k: Float32Array,
  lo: number,
  pos: number,
  p: Float64Array,
  out: Float64Array,
): void {
  const hd = s.headDim;
  let max = -Infinity;
  for (let j = lo; j <= pos; j++) {
    let d = 0;
    for (let i = 0; i < hd; i++) d += q[qr + i] * k[j * hd + i];
    if (s.softcap) d = s.softcap * Math.tanh(d / s.softcap);
    d *= s.scale;
    p[j] = d;
    if (d > max) max = d;
  }
  let sum = 0;
  for (let j = lo; j <= pos; j++) sum += p[j] = Math.exp(p[j] - max);
  for (let j = lo; j <= pos; j++) out[j] += p[j] / sum;
}

/**
 * scores[j] += sum over the nt queries at positions p0.. (rows of q from q[qo]) and every head of
 * softmax_j(scale * q.k_j). `k` is scratch of at least (p0 + nt) * headDim floats.
 */
export function accumulateAttention(
  s: ScoreShape,
  cache: KVCache,
  layer: number,
  q: Float32Array,
  qo: number,
  nt: number,
  p0: number,
  scores: Float64Array,
  k: Float32Array,
): void {
  const group = s.nHead / s.nHeadKV;
  const hd = s.headDim;
  const qStride = s.nHead * hd;
  const len = p0 + nt;
  const p = new Float64Array(len);
  for (let kh = 0; kh < s.nHeadKV; kh++) {
    const first = s.window > 0 ? Math.max(0, p0 - s.window + 1) : 0;
    for (let j = first; j < len; j++) cache.readRow!("k", layer, j, kh * hd, k, j * hd, hd);
    for (let g = 0; g < group; g++) {
      const h = kh * group + g;
      for (let t = 0; t < nt; t++) {
        const pos = p0 + t;
        const lo = s.window > 0 ? Math.max(0, pos - s.window + 1) : 0;
        addSoftmaxRow(s, q, qo + t * qStride + h * hd, k, lo, pos, p, scores);
      }
    }
  }
}

/**
 * SnapKV's per-head importance (kv/eviction.ts SnapKV): for each KV head of `layer`, the attention
 * probability each position 0..len-1 receives from the observed queries (kv/obs-queries.ts: the
 * newest query rows), summed over those queries and the head's query-head group. Each query's
 * softmax runs over what it saw (positions up to its own, within the window). `k` is scratch of
 * at least len * headDim floats. Returns [nHeadKV] arrays of len scores.
 */
export function observedScores(
  s: ScoreShape,
  cache: KVCache,
  layer: number,
  obs: ObservedQueries,
  len: number,
  k: Float32Array,
): Float64Array[] {
  const group = s.nHead / s.nHeadKV;
  const hd = s.headDim;
  const qRows = obs.q[layer];
  const slots = obs.slots(len);
  const p = new Float64Array(len);
  const out: Float64Array[] = [];
  for (let kh = 0; kh < s.nHeadKV; kh++) {
    const sc = new Float64Array(len);
    out.push(sc);
    for (let j = 0; j < len; j++) cache.readRow!("k", layer, j, kh * hd, k, j * hd, hd);
    for (const slot of slots) {
      const pos = obs.pos[slot];
      const lo = s.window > 0 ? Math.max(0, pos - s.window + 1) : 0;
      for (let g = 0; g < group; g++) {
        addSoftmaxRow(s, qRows, slot * obs.qDim + (kh * group + g) * hd, k, lo, pos, p, sc);
      }
    }
  }
  return out;
}
