/**
 * One forward step over several sequences at once (continuous batching). The batch is the
 * concatenation of every segment's new tokens, x: [sum nTok, nEmbd]. Every weight product runs
 * once over the whole batch: norms, the q/k/v projections with their norms and RoPE (each token
 * with its own sequence's position angles), the output projection, FFN / MoE and the output head.
 * Only the KV-cache write and the causal attention itself run per segment, against that
 * sequence's own cache and positions. The blocks are the model's own (gqaQKV/gqaCore,
 * mlaQKV/mlaCore/mlaOut, the pieces gqaLayer/mlaLayer are made of), so each row equals
 * Transformer.forward up to the summation order the matrix kernels pick for the batch size.
 */
import { InputError } from "../errors.js";
import type { KVCache } from "../kv/cache.js";
import type { Transformer } from "../model/forward.js";
import { swiglu } from "../model/blocks/ffn.js";
import { gqaCore, gqaQKV } from "../model/blocks/gqa.js";
import { getRow, matmul } from "../model/blocks/linear.js";
import { mlaCore, mlaOut, mlaQKV } from "../model/blocks/mla.js";
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
      throw new InputError(
        `sequence of ${s.cache.length + s.tokens.length} tokens exceeds the context size ${s.cache.shape.capacity}`,
      );
    }
    for (const i of s.outputs)
      if (!(i >= 0 && i < s.tokens.length))
        throw new InputError(`output index ${i} outside 0..${s.tokens.length - 1}`);
    starts.push(n);
    n += s.tokens.length;
  }
  if (n === 0) return [];

  const x = new Float32Array(n * E);
  segs.forEach((s, si) => {
    for (let t = 0; t < s.tokens.length; t++) {
      const id = s.tokens[t];
      if (!Number.isInteger(id) || id < 0 || id >= c.nVocab)
        throw new InputError(`token id ${id} outside the vocabulary 0..${c.nVocab - 1}`);
      getRow(model.weights.tokenEmbd, id, x, (starts[si] + t) * E);
    }
  });
  const pos0 = segs.map((s) => s.cache.length);
  // RoPE angles of every batch row, each at its own sequence's position.
  const angles = segs.flatMap((s, si) =>
    Array.from({ length: s.tokens.length }, (_, t) => model.rope.angles(pos0[si] + t)),
  );
  const H = c.nHead;
  const h = new Float32Array(n * E);
  const y = new Float32Array(n * E);
  for (let l = 0; l < c.nLayers; l++) {
    const L = model.weights.layers[l];
    for (let t = 0; t < n; t++) rmsNorm(x, t * E, E, L.attnNorm, c.rmsEps, h, t * E);
    if (L.mla) {
      const R = c.mla!.kvLoraRank;
      const kw = R + c.mla!.ropeDim;
      const { qa, kv } = mlaQKV(c, L.mla, model.rope, angles, h, n); // qa [n][H][kw], kv [n][kw]
      const lat = new Float32Array(n * H * R);
      segs.forEach((s, si) => {
        const [a, nt] = [starts[si], s.tokens.length];
        mlaCore(
          c,
          s.cache,
          l,
          qa.subarray(a * H * kw, (a + nt) * H * kw),
          kv.subarray(a * kw, (a + nt) * kw),
          nt,
          pos0[si],
          lat.subarray(a * H * R, (a + nt) * H * R),
        );
      });
      mlaOut(c, L.mla, lat, n, y);
    } else {
      const qDim = H * c.headDimK;
      const kDim = c.nHeadKV * c.headDimK;
      const vDim = c.nHeadKV * c.headDimV;
      const oDim = H * c.headDimV;
      const { q, k, v } = gqaQKV(c, L.attn!, model.rope, angles, h, n);
      const o = new Float32Array(n * oDim);
      segs.forEach((s, si) => {
        const [a, nt] = [starts[si], s.tokens.length];
        const q_ = q.subarray(a * qDim, (a + nt) * qDim);
        gqaCore(
          c,
          s.cache,
          l,
          q_,
          k.subarray(a * kDim, (a + nt) * kDim),
          v.subarray(a * vDim, (a + nt) * vDim),
          nt,
          pos0[si],
          o.subarray(a * oDim, (a + nt) * oDim),
        );
      });
      matmul(L.attn!.wo, o, n, y);
    }
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
    out.push(s.outputs.map(() => logits.subarray(r * c.nVocab, ++r * c.nVocab)));
  }
  return out;
}
