/**
 * The KV cache seen by attention: per layer, one K row and one V row per position. Attention only
 * needs two operations on stored rows, so the interface is exactly those (plus writes), and
 * storage (F32/F16, dense/paged, MLA latent) stays hidden behind it:
 *   dotK(l, pos, off, q, qo, n)          = sum_i K[l][pos][off + i] * q[qo + i]
 *   addV(l, pos, off, w, out, oo, n):      out[oo + i] += w * V[l][pos][off + i]
 * For MLA the V row is a prefix of the K row (the latent), so `vFromK` stores V nowhere.
 */
import { InputError } from "../errors.js";
import { fp32ToFp16, fp16Table } from "../quant/f16.js";
import type { KernelSet, PagedKV } from "../kernels/kernel-set.js";
import { RecurrentStore, type RecurrentShape, type RecurrentState } from "./recurrent.js";
import type { ObservedQueries } from "./obs-queries.js";
import {
  allocKVStore,
  dotRow,
  kvRowBytes,
  loadRow,
  madRow,
  storeRow,
  type KVStore,
  type KVType,
} from "./quant-kv.js";

/** Row format of K (and of V unless `dtypeV` says otherwise): see kv/quant-kv.ts. */
export type KVDType = KVType;

export interface KVCacheShape {
  nLayers: number;
  /** Floats per K row per layer (e.g. n_kv_heads * head_dim, or kv_lora_rank + rope_dim for MLA). */
  kWidth: number;
  /** Floats per V row per layer; 0 when V is read from K (`vFromK`). */
  vWidth: number;
  /** Positions the cache can hold. */
  capacity: number;
  dtype: KVDType;
  /** V rows' format when it differs from K's (llama.cpp's --cache-type-v). */
  dtypeV?: KVDType;
  /** MLA: V rows are the first vWidthFromK floats of the K row. */
  vFromK?: boolean;
  /**
   * Hadamard block size K (V) rows are stored rotated by, 0/absent = none (kv/hadamard.ts:
   * llama.cpp's rotation of quantized rows); the forward pass rotates q, k, v and the output.
   */
  rotK?: number;
  rotV?: number;
  /** Recurrent layers' per-sequence state (kv/recurrent.ts), kept by each sequence's cache. */
  recurrent?: RecurrentShape;
}

/**
 * A layer's K and V rows in a KernelSet's memory, in the paged layout `ks.attentionPaged` reads
 * in place (see PagedKV in kernels/kernel-set.ts; positions [0, length) valid).
 */
export interface KernelKVView {
  ks: KernelSet;
  kv: PagedKV;
}

export interface KVCache {
  readonly shape: Readonly<KVCacheShape>;
  /** Positions filled so far (the next token's position). */
  readonly length: number;
  writeK(layer: number, pos: number, src: Float32Array, so: number): void;
  writeV(layer: number, pos: number, src: Float32Array, so: number): void;
  /**
   * Optional: K and V rows of n consecutive positions pos0.. in one call (rows at stride kWidth /
   * vWidth from ko / vo; F16 storage converts them in the same pass). forwardBatch uses it once per
   * layer and segment when present, else writeK/writeV per position.
   */
  writeRows?(
    layer: number,
    pos0: number,
    n: number,
    k: Float32Array,
    ko: number,
    v: Float32Array,
    vo: number,
  ): void;
  dotK(layer: number, pos: number, off: number, q: Float32Array, qo: number, n: number): number;
  addV(layer: number, pos: number, off: number, w: number, out: Float32Array, oo: number, n: number): void;
  /**
   * Optional: copy n stored floats of a K or V row (F16 widened exactly) into dst, so attention can
   * sum in ggml's order. Caches without it get the dotK/addV path.
   */
  readRow?(
    which: "k" | "v",
    layer: number,
    pos: number,
    off: number,
    dst: Float32Array,
    dstOff: number,
    n: number,
  ): void;
  /** Optional: this layer's rows as kernel memory (see KernelKVView); attention then runs in the set. */
  kernelView?(layer: number): KernelKVView | undefined;
  /** Round activations the way this storage's matrix products see them (F16: through half). */
  roundInput(x: Float32Array, xo: number, n: number): void;
  /** Mark positions [0, n) as valid (after a forward step wrote them). */
  setLength(n: number): void;
  /** Drop positions >= n (e.g. to reuse a prompt prefix). */
  truncate(n: number): void;
  /**
   * Optional: accumulated attention probability per position (kv/attn-scores.ts), present when a
   * scored eviction policy asked for it; the forward pass adds to it after every attention layer.
   */
  readonly attnScores?: Float64Array;
  /**
   * Optional: the newest query rows of every layer (kv/obs-queries.ts), present when a per-head
   * eviction policy (SnapKV) asked for them; the forward pass records them after each attention layer.
   */
  readonly observed?: ObservedQueries;
  /** Recurrent layer l's state for this sequence (undefined for attention layers / no store). */
  state?(layer: number): RecurrentState | undefined;
  /** Cache bytes per token across all layers. */
  bytesPerToken(): number;
}

const HALF = fp16Table();

/** One contiguous buffer per layer; capacity fixed at creation. */
export class DenseKVCache implements KVCache {
  readonly shape: Readonly<KVCacheShape>;
  private len = 0;
  private readonly k: KVStore[] = [];
  private readonly v: KVStore[] = [];
  private readonly tk: KVDType;
  private readonly tv: KVDType;
  private readonly recurrent: RecurrentStore | undefined;

  constructor(shape: KVCacheShape) {
    if (shape.capacity <= 0 || shape.kWidth <= 0)
      throw new InputError(`invalid KV cache shape`, { field: JSON.stringify(shape) });
    this.shape = { ...shape };
    this.tk = shape.dtype;
    this.tv = shape.vFromK ? shape.dtype : (shape.dtypeV ?? shape.dtype);
    this.recurrent = shape.recurrent ? new RecurrentStore(shape.recurrent) : undefined;
    for (let l = 0; l < shape.nLayers; l++) {
      // Recurrent layers keep no K/V rows.
      const cap = shape.recurrent?.layers[l] ? 0 : shape.capacity;
      this.k.push(allocKVStore(this.tk, cap, shape.kWidth));
      this.v.push(allocKVStore(this.tv, shape.vFromK ? 0 : cap, shape.vWidth));
    }
  }

  state(layer: number): RecurrentState | undefined {
    return this.recurrent?.state(layer);
  }

  get length(): number {
    return this.len;
  }

  private check(pos: number): void {
    if (pos < 0 || pos >= this.shape.capacity) {
      throw new InputError(`position ${pos} is outside the KV cache (capacity ${this.shape.capacity})`, {
        hint: "use a larger context size",
      });
    }
  }

  writeK(layer: number, pos: number, src: Float32Array, so: number): void {
    this.check(pos);
    storeRow(this.tk, this.k[layer], pos, this.shape.kWidth, src, so);
  }

  writeV(layer: number, pos: number, src: Float32Array, so: number): void {
    this.check(pos);
    if (this.shape.vFromK) throw new InputError("this cache reads V from K; writeV is not used");
    storeRow(this.tv, this.v[layer], pos, this.shape.vWidth, src, so);
  }

  dotK(layer: number, pos: number, off: number, q: Float32Array, qo: number, n: number): number {
    return dotRow(this.tk, this.k[layer], pos, this.shape.kWidth, off, q, qo, n);
  }

  addV(layer: number, pos: number, off: number, w: number, out: Float32Array, oo: number, n: number): void {
    if (this.shape.vFromK) madRow(this.tk, this.k[layer], pos, this.shape.kWidth, off, w, out, oo, n);
    else madRow(this.tv, this.v[layer], pos, this.shape.vWidth, off, w, out, oo, n);
  }

  readRow(
    which: "k" | "v",
    layer: number,
    pos: number,
    off: number,
    dst: Float32Array,
    dstOff: number,
    n: number,
  ): void {
    if (which === "k" || this.shape.vFromK)
      loadRow(this.tk, this.k[layer], pos, this.shape.kWidth, off, dst, dstOff, n);
    else loadRow(this.tv, this.v[layer], pos, this.shape.vWidth, off, dst, dstOff, n);
  }

  roundInput(x: Float32Array, xo: number, n: number): void {
    if (this.shape.dtype !== "f16") return;
    for (let i = 0; i < n; i++) x[xo + i] = HALF[fp32ToFp16(x[xo + i])];
  }

  setLength(n: number): void {
    if (n < 0 || n > this.shape.capacity)
      throw new InputError(`length ${n} outside 0..${this.shape.capacity}`);
    this.len = n;
  }

  truncate(n: number): void {
    if (n < 0) throw new InputError(`cannot truncate to ${n}`);
    this.recurrent?.checkTruncate(this.len, n);
    this.len = Math.min(this.len, n);
  }

  bytesPerToken(): number {
    return kvBytesPerToken(this.shape);
  }
}

/** Cache bytes per token of a shape (K and V in their own formats). */
export function kvBytesPerToken(
  s: Pick<KVCacheShape, "nLayers" | "kWidth" | "vWidth" | "vFromK" | "dtype" | "dtypeV">,
): number {
  const v = s.vFromK ? 0 : kvRowBytes(s.dtypeV ?? s.dtype, s.vWidth);
  return s.nLayers * (kvRowBytes(s.dtype, s.kWidth) + v);
}
