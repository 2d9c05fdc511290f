/**
 * A per-sequence KV cache whose rows live in a KernelSet's own memory (`ks.alloc()`: for the WASM
 * set, views of the shared WebAssembly.Memory), so `ks.attention` reads K and V in place instead
 * of copying the whole cache into WASM memory on every call.
 *
 * Layout per layer: K [capacity][kWidth] and V [capacity][vWidth], f32 (the SIMD attention kernel
 * reads f32). Rows are written at their position; positions [0, length) are valid, so
 * `kernelView(l).k.subarray(0, n * kWidth)` is exactly the [nKV][nHeadKV][headDim] array
 * `ks.attention` takes. It also implements readRow/dotK/addV, so the exact TS attention (and MLA,
 * with `vFromK`) runs on it unchanged.
 *
 * Memory: the KernelSet arena never frees, so each cache costs capacity x bytesPerToken of WASM
 * memory for the KernelSet's lifetime: make one per sequence slot and reuse it (truncate(0)).
 */
import { InputError } from "../errors.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import type { KVCache, KVCacheShape, KernelKVView } from "./cache.js";

export class KernelKVCache implements KVCache {
  readonly shape: Readonly<KVCacheShape>;
  private len = 0;
  private readonly k: Float32Array[] = [];
  private readonly v: Float32Array[] = [];

  constructor(
    readonly ks: KernelSet,
    shape: Omit<KVCacheShape, "dtype">,
  ) {
    if (!(shape.capacity > 0) || !(shape.kWidth > 0) || !Number.isInteger(shape.capacity)) {
      throw new InputError(`invalid KV cache shape`, { field: JSON.stringify(shape) });
    }
    this.shape = { ...shape, dtype: "f32" };
    for (let l = 0; l < shape.nLayers; l++) {
      this.k.push(ks.alloc(shape.capacity * shape.kWidth));
      this.v.push(shape.vFromK ? new Float32Array(0) : ks.alloc(shape.capacity * shape.vWidth));
    }
  }

  get length(): number {
    return this.len;
  }

  private check(layer: number, pos: number): void {
    if (!(layer >= 0 && layer < this.shape.nLayers)) throw new InputError(`layer ${layer} outside 0..${this.shape.nLayers - 1}`);
    if (!(pos >= 0 && pos < this.shape.capacity)) {
      throw new InputError(`position ${pos} is outside the KV cache (capacity ${this.shape.capacity})`, { hint: "use a larger context size" });
    }
  }

  writeK(layer: number, pos: number, src: Float32Array, so: number): void {
    this.check(layer, pos);
    const w = this.shape.kWidth;
    this.k[layer].set(src.subarray(so, so + w), pos * w);
  }

  writeV(layer: number, pos: number, src: Float32Array, so: number): void {
    this.check(layer, pos);
    if (this.shape.vFromK) throw new InputError("this cache reads V from K; writeV is not used");
    const w = this.shape.vWidth;
    this.v[layer].set(src.subarray(so, so + w), pos * w);
  }

  private row(which: "k" | "v", layer: number): { a: Float32Array; w: number } {
    return which === "k" || this.shape.vFromK ? { a: this.k[layer], w: this.shape.kWidth } : { a: this.v[layer], w: this.shape.vWidth };
  }

  dotK(layer: number, pos: number, off: number, q: Float32Array, qo: number, n: number): number {
    const k = this.k[layer];
    const base = pos * this.shape.kWidth + off;
    let s = 0;
    for (let i = 0; i < n; i++) s += k[base + i] * q[qo + i];
    return s;
  }

  addV(layer: number, pos: number, off: number, wt: number, out: Float32Array, oo: number, n: number): void {
    const { a, w } = this.row("v", layer);
    const base = pos * w + off;
    for (let i = 0; i < n; i++) out[oo + i] += wt * a[base + i];
  }

  readRow(which: "k" | "v", layer: number, pos: number, off: number, dst: Float32Array, dstOff: number, n: number): void {
    const { a, w } = this.row(which, layer);
    const base = pos * w + off;
    dst.set(a.subarray(base, base + n), dstOff);
  }

  roundInput(): void {
    // f32 storage: products see activations unrounded.
  }

  kernelView(layer: number): KernelKVView | undefined {
    if (this.shape.vFromK) return undefined;
    return { ks: this.ks, k: this.k[layer], v: this.v[layer] };
  }

  setLength(n: number): void {
    if (!(n >= 0 && n <= this.shape.capacity)) throw new InputError(`length ${n} outside 0..${this.shape.capacity}`);
    this.len = n;
  }

  truncate(n: number): void {
    if (!(n >= 0)) throw new InputError(`cannot truncate to ${n}`);
    this.len = Math.min(this.len, n);
  }

  bytesPerToken(): number {
    return this.shape.nLayers * (this.shape.kWidth + (this.shape.vFromK ? 0 : this.shape.vWidth)) * 4;
  }
}
