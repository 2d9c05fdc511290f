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

export type KVDType = "f32" | "f16";

export interface KVCacheShape {
  nLayers: number;
  /** Floats per K row per layer (e.g. n_kv_heads * head_dim, or kv_lora_rank + rope_dim for MLA). */
  kWidth: number;
  /** Floats per V row per layer; 0 when V is read from K (`vFromK`). */
  vWidth: number;
  /** Positions the cache can hold. */
  capacity: number;
  dtype: KVDType;
  /** MLA: V rows are the first vWidthFromK floats of the K row. */
  vFromK?: boolean;
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
  /** Cache bytes per token across all layers. */
  bytesPerToken(): number;
}

const HALF = fp16Table();

/** One contiguous buffer per layer; capacity fixed at creation. */
export class DenseKVCache implements KVCache {
  readonly shape: Readonly<KVCacheShape>;
  private len = 0;
  private readonly k: (Float32Array | Uint16Array)[] = [];
  private readonly v: (Float32Array | Uint16Array)[] = [];

  constructor(shape: KVCacheShape) {
    if (shape.capacity <= 0 || shape.kWidth <= 0)
      throw new InputError(`invalid KV cache shape`, { field: JSON.stringify(shape) });
    this.shape = { ...shape };
    const make = (n: number) => (shape.dtype === "f32" ? new Float32Array(n) : new Uint16Array(n));
    for (let l = 0; l < shape.nLayers; l++) {
      this.k.push(make(shape.capacity * shape.kWidth));
      this.v.push(make(shape.vFromK ? 0 : shape.capacity * shape.vWidth));
    }
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

  private static store(
    dst: Float32Array | Uint16Array,
    o: number,
    src: Float32Array,
    so: number,
    n: number,
  ): void {
    if (dst instanceof Float32Array) dst.set(src.subarray(so, so + n), o);
    else for (let i = 0; i < n; i++) dst[o + i] = fp32ToFp16(src[so + i]);
  }

  writeK(layer: number, pos: number, src: Float32Array, so: number): void {
    this.check(pos);
    DenseKVCache.store(this.k[layer], pos * this.shape.kWidth, src, so, this.shape.kWidth);
  }

  writeV(layer: number, pos: number, src: Float32Array, so: number): void {
    this.check(pos);
    if (this.shape.vFromK) throw new InputError("this cache reads V from K; writeV is not used");
    DenseKVCache.store(this.v[layer], pos * this.shape.vWidth, src, so, this.shape.vWidth);
  }

  dotK(layer: number, pos: number, off: number, q: Float32Array, qo: number, n: number): number {
    const k = this.k[layer];
    const base = pos * this.shape.kWidth + off;
    let s = 0;
    if (k instanceof Float32Array) for (let i = 0; i < n; i++) s += k[base + i] * q[qo + i];
    else for (let i = 0; i < n; i++) s += HALF[k[base + i]] * q[qo + i];
    return s;
  }

  addV(layer: number, pos: number, off: number, w: number, out: Float32Array, oo: number, n: number): void {
    const fromK = this.shape.vFromK === true;
    const v = fromK ? this.k[layer] : this.v[layer];
    const base = pos * (fromK ? this.shape.kWidth : this.shape.vWidth) + off;
    if (v instanceof Float32Array) for (let i = 0; i < n; i++) out[oo + i] += w * v[base + i];
    else for (let i = 0; i < n; i++) out[oo + i] += w * HALF[v[base + i]];
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
    const fromK = which === "k" || this.shape.vFromK === true;
    const src = fromK ? this.k[layer] : this.v[layer];
    const base = pos * (fromK ? this.shape.kWidth : this.shape.vWidth) + off;
    if (src instanceof Float32Array) dst.set(src.subarray(base, base + n), dstOff);
    else for (let i = 0; i < n; i++) dst[dstOff + i] = HALF[src[base + i]];
  }

  roundInput(x: Float32Array, xo: number, n: number): void {
    if (this.shape.dtype === "f32") return;
    for (let i = 0; i < n; i++) x[xo + i] = HALF[fp32ToFp16(x[xo + i])];
  }

  setLength(n: number): void {
    if (n < 0 || n > this.shape.capacity)
      throw new InputError(`length ${n} outside 0..${this.shape.capacity}`);
    this.len = n;
  }

  truncate(n: number): void {
    if (n < 0) throw new InputError(`cannot truncate to ${n}`);
    this.len = Math.min(this.len, n);
  }

  bytesPerToken(): number {
    const el = this.shape.dtype === "f32" ? 4 : 2;
    const w = this.shape.kWidth + (this.shape.vFromK ? 0 : this.shape.vWidth);
    return this.shape.nLayers * w * el;
  }
}
