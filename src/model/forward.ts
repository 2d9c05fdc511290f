/**
 * One generic forward pass for every family: embeddings -> N x (norm, attention or MLA, residual,
 * norm, dense or MoE FFN, residual) -> final norm -> logits, for the requested positions only.
 * A batch of tokens (prefill) runs every matrix product as a matrix-matrix product; decode is
 * the same call with one token.
 */
import { InputError } from "../errors.js";
import { DenseKVCache, type KVCache, type KVDType } from "../kv/cache.js";
import type { ModelConfig } from "./arch/config.js";
import type { ModelWeights } from "./bind.js";
import { swiglu } from "./blocks/ffn.js";
import { gqaLayer } from "./blocks/gqa.js";
import { getRow, matmul } from "./blocks/linear.js";
import { mlaLayer, mlaCacheWidth } from "./blocks/mla.js";
import { moeFfn } from "./blocks/moe.js";
import { rmsNorm } from "./blocks/norm.js";
import { Rope } from "./blocks/rope.js";

export class Transformer {
  readonly rope: Rope;

  constructor(
    readonly config: ModelConfig,
    readonly weights: ModelWeights,
  ) {
    this.rope = new Rope(config.rope, weights.ropeFreqs);
  }

  /** A fresh per-sequence cache for this model (MLA: latent + rope key only). */
  newCache(capacity: number, dtype: KVDType = "f32"): KVCache {
    const c = this.config;
    if (c.mla) {
      return new DenseKVCache({ nLayers: c.nLayers, kWidth: mlaCacheWidth(c.mla), vWidth: 0, vFromK: true, capacity, dtype });
    }
    return new DenseKVCache({
      nLayers: c.nLayers,
      kWidth: c.nHeadKV * c.headDimK,
      vWidth: c.nHeadKV * c.headDimV,
      capacity,
      dtype,
    });
  }

  /**
   * Append `tokens` to the sequence in `cache` and return logits [outputs.length][nVocab] for the
   * batch indices in `outputs` (default: the last token only).
   */
  forward(tokens: ArrayLike<number>, cache: KVCache, outputs?: number[]): Float32Array[] {
    const c = this.config;
    const nTok = tokens.length;
    const E = c.nEmbd;
    const pos0 = cache.length;
    if (nTok === 0) throw new InputError("forward() needs at least one token");
    if (pos0 + nTok > cache.shape.capacity) {
      throw new InputError(`sequence of ${pos0 + nTok} tokens exceeds the context size ${cache.shape.capacity}`, {
        hint: "raise the context size or shorten the prompt",
      });
    }
    const outIdx = outputs ?? [nTok - 1];
    for (const i of outIdx) if (!(i >= 0 && i < nTok)) throw new InputError(`output index ${i} outside the batch 0..${nTok - 1}`);

    const x = new Float32Array(nTok * E);
    for (let t = 0; t < nTok; t++) {
      const id = tokens[t];
      if (!Number.isInteger(id) || id < 0 || id >= c.nVocab) throw new InputError(`token id ${id} outside the vocabulary 0..${c.nVocab - 1}`);
      getRow(this.weights.tokenEmbd, id, x, t * E);
    }
    const angles = Array.from({ length: nTok }, (_, t) => this.rope.angles(pos0 + t));
    const h = new Float32Array(nTok * E);
    const y = new Float32Array(nTok * E);
    for (let l = 0; l < c.nLayers; l++) {
      const L = this.weights.layers[l];
      for (let t = 0; t < nTok; t++) rmsNorm(x, t * E, E, L.attnNorm, c.rmsEps, h, t * E);
      if (L.mla) mlaLayer(c, L.mla, this.rope, angles, cache, l, h, nTok, pos0, y);
      else gqaLayer(c, L.attn!, this.rope, angles, cache, l, h, nTok, pos0, y);
      for (let i = 0; i < nTok * E; i++) x[i] += y[i];
      for (let t = 0; t < nTok; t++) rmsNorm(x, t * E, E, L.ffnNorm, c.rmsEps, h, t * E);
      if (L.moe) moeFfn(c.moe!, L.moe, h, nTok, E, y);
      else swiglu(L.ffn!, h, nTok, y);
      for (let i = 0; i < nTok * E; i++) x[i] += y[i];
    }
    cache.setLength(pos0 + nTok);

    const sel = new Float32Array(outIdx.length * E);
    outIdx.forEach((t, i) => rmsNorm(x, t * E, E, this.weights.outputNorm, c.rmsEps, sel, i * E));
    const logits = new Float32Array(outIdx.length * c.nVocab);
    matmul(this.weights.output, sel, outIdx.length, logits);
    return outIdx.map((_, i) => logits.subarray(i * c.nVocab, (i + 1) * c.nVocab));
  }
}
