/**
 * One forward step over several sequences at once (continuous batching). The batch is the
 * concatenation of every segment's new tokens, x: [sum nTok, nEmbd]. Everything position-free
 * (norms, FFN / MoE, the output head: most of the weight bytes) runs once over the whole batch;
 * attention runs per segment against that sequence's own KV cache and positions, through the
 * model's own gqaLayer / mlaLayer blocks, so numbers equal Transformer.forward row for row.
 * (A later step could also batch the q/k/v/o projections across segments.)
 */
import { InputError } from "../errors.js";
import type { KVCache } from "../kv/cache.js";
import type { Transformer } from "../model/forward.js";
import { swiglu } from "../model/blocks/ffn.js";
import { gqaLayer } from "../model/blocks/gqa.js";
import { getRow, matmul } from "../model/blocks/linear.js";
import { mlaLayer } from "../model/blocks/mla.js";
import { moeFfn } from "../model/blocks/moe.js";
import { rmsNorm } from "../model/blocks/norm.js";

export interface Segment {
  tokens: ArrayLike<number>;
  /** Positions continue from cache.length; the cache must already have room (paged: reserved). */
  cache: KVCache;
  /** Indices into `tokens` whose logits are wanted (e.g. the last one; none mid-prefill). */
  outputs: number[];
}

/** Returns, per segment, logits [outputs.length] x Float32Array(nVocab). */
export function forwardBatch(model: Transformer, segs: Segment[]): Float32Array[][] {
  const c = model.config;
  const E = c.nEmbd;
  const starts: number[] = [];
  let n = 0;
  for (const s of segs) {
    if (s.tokens.length === 0) throw new InputError("a batch segment needs at least one token");
    if (s.cache.length + s.tokens.length > s.cache.shape.capacity) {
      throw new InputError(`sequence of ${s.cache.length + s.tokens.length} tokens exceeds the context size ${s.cache.shape.capacity}`);
    }
    for (const i of s.outputs) if (!(i >= 0 && i < s.tokens.length)) throw new InputError(`output index ${i} outside 0..${s.tokens.length - 1}`);
    starts.push(n);
    n += s.tokens.length;
  }
  if (n === 0) return [];

  const x = new Float32Array(n * E);
  segs.forEach((s, si) => {
    for (let t = 0; t < s.tokens.length; t++) {
      const id = s.tokens[t];
      if (!Number.isInteger(id) || id < 0 || id >= c.nVocab) throw new InputError(`token id ${id} outside the vocabulary 0..${c.nVocab - 1}`);
      getRow(model.weights.tokenEmbd, id, x, (starts[si] + t) * E);
    }
  });
  const pos0 = segs.map((s) => s.cache.length);
  const angles = segs.map((s, si) => Array.from({ length: s.tokens.length }, (_, t) => model.rope.angles(pos0[si] + t)));
  const h = new Float32Array(n * E);
  const y = new Float32Array(n * E);
  for (let l = 0; l < c.nLayers; l++) {
    const L = model.weights.layers[l];
    for (let t = 0; t < n; t++) rmsNorm(x, t * E, E, L.attnNorm, c.rmsEps, h, t * E);
    segs.forEach((s, si) => {
      const nt = s.tokens.length;
      const a = starts[si] * E;
      const hs = h.subarray(a, a + nt * E);
      const ys = y.subarray(a, a + nt * E);
      if (L.mla) mlaLayer(c, L.mla, model.rope, angles[si], s.cache, l, hs, nt, pos0[si], ys);
      else gqaLayer(c, L.attn!, model.rope, angles[si], s.cache, l, hs, nt, pos0[si], ys);
    });
    for (let i = 0; i < n * E; i++) x[i] += y[i];
    for (let t = 0; t < n; t++) rmsNorm(x, t * E, E, L.ffnNorm, c.rmsEps, h, t * E);
    if (L.moe) moeFfn(c.moe!, L.moe, h, n, E, y);
    else swiglu(L.ffn!, h, n, y);
    for (let i = 0; i < n * E; i++) x[i] += y[i];
  }
  segs.forEach((s, si) => s.cache.setLength(pos0[si] + s.tokens.length));

  const rows: number[] = [];
  segs.forEach((s, si) => s.outputs.forEach((t) => rows.push(starts[si] + t)));
  const sel = new Float32Array(rows.length * E);
  rows.forEach((t, i) => rmsNorm(x, t * E, E, model.weights.outputNorm, c.rmsEps, sel, i * E));
  const logits = new Float32Array(rows.length * c.nVocab);
  if (rows.length > 0) matmul(model.weights.output, sel, rows.length, logits);
  const out: Float32Array[][] = [];
  let r = 0;
  for (const s of segs) {
    out.push(s.outputs.map(() => logits.subarray(r * c.nVocab, (++r) * c.nVocab)));
  }
  return out;
}
