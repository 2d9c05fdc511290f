/**
 * Causal multi-head attention over a KV cache without a kernel view (the plain-TS path), with
 * grouped KV heads (GQA/MQA: query head h reads KV head h / (nHead / nHeadKV)) and an optional
 * sliding window: softmax(scale * q.k) with max subtraction, sum in double, then
 * out = sum_j p_j v_j. (The paged cache in a KernelSet's memory is read by ks.attentionPaged.)
 */
import type { KVCache } from "../../kv/cache.js";

const f = Math.fround;

export interface AttnShape {
  nHead: number;
  nHeadKV: number;
  /** Per-head q/k size read from the cache (dot length) and per-head V size. */
  headDimK: number;
  headDimV: number;
  scale: number;
  /** 0 = unlimited; else a query at p sees keys p - window + 1 .. p. */
  slidingWindow: number;
  /** Optional: scores become cap * tanh(q.k / cap) before the scale and softmax (gemma2); 0/absent = off. */
  softcap?: number;
  /**
   * Optional per-head sink logits [nHead] (gpt-oss): each joins its head's softmax as one more
   * score (after the scale) with no value row, so the weights of real positions sum to < 1.
   */
  sinks?: Float32Array;
}

/** cap * tanh(x / cap) as ggml runs it (scale by 1/cap, tanhf, scale by cap), in float. */
export function softcap(x: number, cap: number): number {
  return f(f(Math.tanh(f(x * f(1 / cap)))) * cap);
}

/**
 * q: [nTok, nHead * headDimK] at positions pos0 + t; out: [nTok, nHead * headDimV].
 * K row layout in the cache: [nHeadKV][headDimK]; V row layout: [nHeadKV][headDimV].
 */
export function attend(
  s: AttnShape,
  cache: KVCache,
  layer: number,
  q: Float32Array,
  nTok: number,
  pos0: number,
  out: Float32Array,
): void {
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
        let d = f(cache.dotK(layer, j, kvh * s.headDimK, q, qo, s.headDimK));
        if (s.softcap) d = softcap(d, s.softcap);
        const v = f(d * s.scale);
        scores[j] = v;
        if (v > max) max = v;
      }
      const sink = s.sinks?.[h];
      if (sink !== undefined && sink > max) max = sink;
      let sum = 0;
      for (let j = lo; j <= pos; j++) {
        const e = f(Math.exp(scores[j] - max));
        scores[j] = e;
        sum += e;
      }
      if (sink !== undefined) sum += f(Math.exp(f(sink - max)));
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
