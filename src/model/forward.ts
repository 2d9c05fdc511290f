/**
 * One generic forward pass for every family: embeddings -> N x (norm, attention or MLA, residual,
 * norm, dense or MoE FFN, residual) -> final norm -> logits, for the requested positions only.
 * A batch of tokens (prefill) runs every matrix product as a matrix-matrix product; decode is
 * the same call with one token.
 */
import { InputError } from "../errors.js";
import { DenseKVCache, type KVCache, type KVDType } from "../kv/cache.js";
import { KernelKVCache } from "../kv/kernel-cache.js";
import type { KernelSet } from "../kernels/kernel-set.js";
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
    /** The KernelSet the weights were moved into, if any (enables the kernel KV cache). */
    readonly kernels?: KernelSet,
  ) {
    this.rope = new Rope(config.rope, weights.ropeFreqs);
  }

  /**
   * A fresh per-sequence cache for this model (MLA: latent + rope key only).
   * With a KernelSet attached and `where` "kernel" (the default for an F32 cache), K/V live in the
   * set's memory and attention runs there (WASM SIMD; its own summation order). "js" (the default
   * for F16, and always without kernels) is the exact reference cache. A kernel cache is F32 only:
   * asking for F16 there is an error rather than a silent change of type.
   */
  newCache(capacity: number, dtype: KVDType = "f32", where?: "kernel" | "js"): KVCache {
    const c = this.config;
    const shape = c.mla
      ? { nLayers: c.nLayers, kWidth: mlaCacheWidth(c.mla), vWidth: 0, vFromK: true, capacity }
      : { nLayers: c.nLayers, kWidth: c.nHeadKV * c.headDimK, vWidth: c.nHeadKV * c.headDimV, capacity };
    const place = where ?? (this.kernels && dtype === "f32" && !c.mla ? "kernel" : "js");
    if (place === "kernel") {
      if (!this.kernels) throw new InputError("a kernel KV cache needs a model loaded with a KernelSet", { hint: "pass { kernels } to loadModel" });
      if (dtype !== "f32") throw new InputError(`the kernel KV cache stores f32 only, not ${dtype}`, { hint: "use newCache(n, 'f16', 'js')" });
      return new KernelKVCache(this.kernels, shape);
    }
    return new DenseKVCache({ ...shape, dtype });
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
    let h = new Float32Array(nTok * E);
    let y = new Float32Array(nTok * E);
    let xs = x;
    let n = nTok; // rows still carried: all tokens, then only the outputs after the last attention
    for (let l = 0; l < c.nLayers; l++) {
      const L = this.weights.layers[l];
      for (let t = 0; t < nTok; t++) rmsNorm(xs, t * E, E, L.attnNorm, c.rmsEps, h, t * E);
      if (L.mla) mlaLayer(c, L.mla, this.rope, angles, cache, l, h, nTok, pos0, y);
      else gqaLayer(c, L.attn!, this.rope, angles, cache, l, h, nTok, pos0, y);
      if (l === c.nLayers - 1) {
        // As llama.cpp does (get_rows on inp_out_ids): the last layer's FFN runs on the output rows
        // only. Besides saving work, this keeps ggml's product order (1 row -> vec_dot, not tinyBLAS).
        n = outIdx.length;
        const xo = new Float32Array(n * E);
        const yo = new Float32Array(n * E);
        outIdx.forEach((t, i) => {
          xo.set(xs.subarray(t * E, (t + 1) * E), i * E);
          yo.set(y.subarray(t * E, (t + 1) * E), i * E);
        });
        xs = xo;
        y = yo;
        h = new Float32Array(n * E);
      }
      for (let i = 0; i < n * E; i++) xs[i] += y[i];
      for (let t = 0; t < n; t++) rmsNorm(xs, t * E, E, L.ffnNorm, c.rmsEps, h, t * E);
      if (L.moe) moeFfn(c.moe!, L.moe, h, n, E, y);
      else swiglu(L.ffn!, h, n, y);
      for (let i = 0; i < n * E; i++) xs[i] += y[i];
    }
    cache.setLength(pos0 + nTok);

    const sel = new Float32Array(outIdx.length * E);
    outIdx.forEach((_, i) => rmsNorm(xs, i * E, E, this.weights.outputNorm, c.rmsEps, sel, i * E));
    const logits = new Float32Array(outIdx.length * c.nVocab);
    matmul(this.weights.output, sel, outIdx.length, logits);
    return outIdx.map((_, i) => logits.subarray(i * c.nVocab, (i + 1) * c.nVocab));
  }
}
