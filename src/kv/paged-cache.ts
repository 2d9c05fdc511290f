/**
 * One sequence's view of a BlockPool, behind the same KVCache interface attention already uses:
 * position p lives in block table[p / B], row p % B. The engine reserves blocks before a forward
 * step (so a full pool means "wait", never a crash mid-step), adopts cached prefix blocks when a
 * sequence starts, and publishes its full blocks so later sequences can share them.
 * Shared blocks are only ever read: a sequence writes at positions >= its adopted prefix, which
 * lie in blocks it allocated itself.
 */
import { RecurrentStore, type RecurrentState } from "./recurrent.js";
import { InputError } from "../errors.js";
import { fp16Table, fp32ToFp16 } from "../quant/f16.js";
import {
  kvBytesPerToken,
  type KVCache,
  type KVCacheShape,
  type KVDType,
  type KernelKVView,
} from "./cache.js";
import { blockKeys, type BlockPool } from "./paged-pool.js";
import { dotRow, loadRow, madRow, storeRow } from "./quant-kv.js";

const HALF = fp16Table();

export class PagedKVCache implements KVCache {
  readonly shape: Readonly<KVCacheShape>;
  private len = 0;
  private readonly table: number[] = [];
  /** Blocks [0, published) already carry their prefix key in the pool. */
  private published = 0;
  private readonly B: number;
  /** The block table as i32 (for the kernels), kept in step with `table`; grown by doubling. */
  private tableI32 = new Int32Array(8);
  /** One reusable view per layer (no allocation per step). */
  private views: KernelKVView[] | undefined;
  /** Blocks at or past this index are never published (their rows were rewritten: context shift). */
  private publishLimit = Infinity;
  private readonly tk: KVDType;
  private readonly tv: KVDType;
  /** Accumulated attention per position (see KVCache.attnScores); after trackAttention(). */
  attnScores: Float64Array | undefined;
  /** Recurrent layers' state of this sequence (kv/recurrent.ts); dropped with the cache. */
  private readonly recurrent: RecurrentStore | undefined;

  constructor(
    readonly pool: BlockPool,
    /** Most positions this sequence may hold (the context size). */
    capacity: number,
    /**
     * Prefix-cache namespace: blocks are shared only between caches with the same salt (rows
     * computed under other LoRA adapters differ). "" = the base model.
     */
    readonly prefixSalt = "",
  ) {
    const s = pool.shape;
    this.B = s.blockSize;
    this.shape = {
      nLayers: s.nLayers,
      kWidth: s.kWidth,
      vWidth: s.vWidth,
      vFromK: s.vFromK,
      dtype: s.dtype,
      dtypeV: s.dtypeV,
      capacity,
      recurrent: s.recurrent,
      rotK: s.rotK ?? 0,
      rotV: s.rotV ?? 0,
    };
    this.tk = s.dtype;
    this.tv = s.vFromK ? s.dtype : (s.dtypeV ?? s.dtype);
    this.recurrent = s.recurrent ? new RecurrentStore(s.recurrent) : undefined;
  }

  /** Start accumulating attention per position (scored eviction: kv/eviction.ts H2O). */
  trackAttention(): void {
    this.attnScores ??= new Float64Array(this.shape.capacity);
  }

  state(layer: number): RecurrentState | undefined {
    return this.recurrent?.state(layer);
  }

  get length(): number {
    return this.len;
  }
  get blocks(): readonly number[] {
    return this.table;
  }

  /** Blocks still needed to hold `n` positions. */
  blocksNeeded(n: number): number {
    return Math.max(0, Math.ceil(n / this.B) - this.table.length);
  }

  /** Make room for positions [0, n); false (nothing allocated) if the pool has too few blocks. */
  reserve(n: number): boolean {
    if (n > this.shape.capacity)
      throw new InputError(`sequence of ${n} tokens exceeds the context size ${this.shape.capacity}`);
    const need = this.blocksNeeded(n);
    if (need > this.pool.available) return false;
    for (let i = 0; i < need; i++) this.push(this.pool.allocate()!);
    return true;
  }

  /**
   * Adopt cached blocks holding a prefix of `tokens` (only on an empty sequence). At most
   * floor((len - 1) / B) blocks, so at least the last prompt token is computed and yields logits.
   * Returns the number of positions reused.
   */
  adoptPrefix(tokens: ArrayLike<number>): number {
    if (this.len !== 0 || this.table.length !== 0)
      throw new InputError("adoptPrefix needs an empty sequence");
    // A recurrent state has no snapshot at block boundaries: compute the whole prompt.
    if (this.recurrent) return 0;
    const keys = blockKeys(
      tokens,
      this.B,
      Math.floor(Math.max(0, tokens.length - 1) / this.B),
      this.prefixSalt,
    );
    for (const key of keys) {
      const b = this.pool.acquireByKey(key);
      if (b === undefined) break;
      this.push(b);
    }
    this.published = this.table.length;
    this.len = this.table.length * this.B;
    return this.len;
  }

  /** Publish every full, computed block of this sequence (tokens = all tokens at positions 0..). */
  publishFull(tokens: ArrayLike<number>): void {
    const full = Math.min(
      Math.floor(this.len / this.B),
      Math.floor(tokens.length / this.B),
      this.publishLimit,
    );
    if (full <= this.published) return;
    const keys = blockKeys(tokens, this.B, full, this.prefixSalt);
    for (let i = this.published; i < full; i++) this.pool.publish(this.table[i], keys[i]);
    this.published = full;
  }

  private push(b: number): void {
    this.table.push(b);
    if (this.table.length > this.tableI32.length) {
      const t = new Int32Array(this.tableI32.length * 2);
      t.set(this.tableI32);
      this.tableI32 = t;
      if (this.views) for (const v of this.views) v.kv.table = t;
    }
    this.tableI32[this.table.length - 1] = b;
  }

  /**
   * Layer `layer` as a paged view for `ks.attentionPaged` (rows read in place), when the pool
   * lives in a KernelSet's memory. With vFromK (MLA) `v` is the K storage itself.
   */
  kernelView(layer: number): KernelKVView | undefined {
    if (!this.pool.ks) return undefined;
    if (!this.views) {
      this.views = [];
      for (let l = 0; l < this.shape.nLayers; l++) {
        this.views.push({
          ks: this.pool.layerKs[l]!,
          kv: {
            k: this.pool.k[l],
            // MLA (vFromK): V is the first kvLoraRank floats of each K row, so v is k.
            v: this.shape.vFromK ? this.pool.k[l] : this.pool.v[l],
            half: this.shape.dtype === "f16",
            kType: this.tk,
            vType: this.tv,
            table: this.tableI32,
            blockSize: this.B,
          },
        });
      }
    }
    return this.views[layer];
  }

  /** Give every block back to the pool (the sequence is done or cancelled). */
  free(): void {
    this.attnScores?.fill(0);
    for (const b of this.table) this.pool.release(b);
    this.table.length = 0;
    this.len = 0;
    this.published = 0;
    this.publishLimit = Infinity;
  }

  private row(pos: number): number {
    const b = this.table[Math.floor(pos / this.B)];
    if (b === undefined || pos < 0)
      throw new InputError(`position ${pos} has no KV block reserved`, { hint: "reserve() before forward" });
    return b * this.B + (pos % this.B);
  }

  /** f32/f16 rows: plain loops, no view object per write (decode writes one row per layer). */
  private static store(
    dst: Float32Array | Uint16Array,
    o: number,
    src: Float32Array,
    so: number,
    n: number,
  ): void {
    if (dst instanceof Float32Array) for (let i = 0; i < n; i++) dst[o + i] = src[so + i];
    else for (let i = 0; i < n; i++) dst[o + i] = fp32ToFp16(src[so + i]);
  }

  writeK(layer: number, pos: number, src: Float32Array, so: number): void {
    storeRow(this.tk, this.pool.k[layer], this.row(pos), this.shape.kWidth, src, so);
  }

  writeV(layer: number, pos: number, src: Float32Array, so: number): void {
    if (this.shape.vFromK) throw new InputError("this cache reads V from K; writeV is not used");
    storeRow(this.tv, this.pool.v[layer], this.row(pos), this.shape.vWidth, src, so);
  }

  writeRows(
    layer: number,
    pos0: number,
    n: number,
    k: Float32Array,
    ko: number,
    v: Float32Array,
    vo: number,
  ): void {
    const { kWidth, vWidth } = this.shape;
    if (
      (this.tk !== "f32" && this.tk !== "f16") ||
      (!this.shape.vFromK && this.tv !== "f32" && this.tv !== "f16")
    ) {
      // quantized rows: one block-encoded row at a time
      for (let t = 0; t < n; t++) {
        this.writeK(layer, pos0 + t, k, ko + t * kWidth);
        if (!this.shape.vFromK) this.writeV(layer, pos0 + t, v, vo + t * vWidth);
      }
      return;
    }
    const kd = this.pool.k[layer] as Float32Array | Uint16Array;
    const vd = this.shape.vFromK ? undefined : (this.pool.v[layer] as Float32Array | Uint16Array);
    // Positions in one block are consecutive rows of the pool: one store per block run.
    for (let p = pos0; p < pos0 + n;) {
      const run = Math.min(pos0 + n - p, this.B - (p % this.B));
      const r = this.row(p);
      const t = p - pos0;
      PagedKVCache.store(kd, r * kWidth, k, ko + t * kWidth, run * kWidth);
      if (vd) PagedKVCache.store(vd, r * vWidth, v, vo + t * vWidth, run * vWidth);
      p += run;
    }
  }

  dotK(layer: number, pos: number, off: number, q: Float32Array, qo: number, n: number): number {
    return dotRow(this.tk, this.pool.k[layer], this.row(pos), this.shape.kWidth, off, q, qo, n);
  }

  addV(layer: number, pos: number, off: number, w: number, out: Float32Array, oo: number, n: number): void {
    if (this.shape.vFromK)
      madRow(this.tk, this.pool.k[layer], this.row(pos), this.shape.kWidth, off, w, out, oo, n);
    else madRow(this.tv, this.pool.v[layer], this.row(pos), this.shape.vWidth, off, w, out, oo, n);
  }

  /** Copy n stored values of a K or V row (widened/dequantized exactly) into dst. */
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
      loadRow(this.tk, this.pool.k[layer], this.row(pos), this.shape.kWidth, off, dst, dstOff, n);
    else loadRow(this.tv, this.pool.v[layer], this.row(pos), this.shape.vWidth, off, dst, dstOff, n);
  }

  /**
   * Before rows at positions >= `from` are rewritten in place (context shift): blocks holding them
   * that others see (shared or in the prefix cache) are replaced by private copies, and no block
   * from there on is ever published again (its rows no longer equal a fresh prefill of the tokens).
   */
  prepareRewrite(from: number): void {
    const b0 = Math.floor(from / this.B);
    this.publishLimit = Math.min(this.publishLimit, b0);
    this.published = Math.min(this.published, b0);
    for (let i = b0; i < this.table.length; i++) {
      if (this.pool.makePrivate(this.table[i])) continue;
      const fresh = this.pool.allocate();
      if (fresh === undefined)
        throw new InputError("KV pool exhausted while un-sharing blocks for a context shift");
      this.pool.copyBlock(this.table[i], fresh);
      this.pool.release(this.table[i]);
      this.table[i] = fresh;
      this.tableI32[i] = fresh;
    }
  }

  roundInput(x: Float32Array, xo: number, n: number): void {
    if (this.shape.dtype !== "f16") return;
    for (let i = 0; i < n; i++) x[xo + i] = HALF[fp32ToFp16(x[xo + i])];
  }

  setLength(n: number): void {
    if (n < 0 || n > this.table.length * this.B)
      throw new InputError(`length ${n} outside the ${this.table.length * this.B} reserved positions`);
    this.len = n;
  }

  truncate(n: number): void {
    if (n < 0) throw new InputError(`cannot truncate to ${n}`);
    this.recurrent?.checkTruncate(this.len, n);
    this.len = Math.min(this.len, n);
    // Positions past the end will be written again: their attention starts from nothing.
    this.attnScores?.fill(0, this.len);
    // Blocks wholly past the new end go back to the pool.
    const keep = Math.ceil(this.len / this.B);
    while (this.table.length > keep) this.pool.release(this.table.pop()!);
    this.published = Math.min(this.published, Math.floor(this.len / this.B));
    // The new last block is now partial and will be written again: copy it first if others see it.
    const last = this.table.length - 1;
    if (this.len % this.B !== 0 && last >= 0 && this.pool.isShared(this.table[last])) {
      const fresh = this.pool.allocate();
      if (fresh === undefined) throw new InputError("KV pool exhausted while un-sharing a truncated block");
      this.pool.copyBlock(this.table[last], fresh);
      this.pool.release(this.table[last]);
      this.table[last] = fresh;
      this.tableI32[last] = fresh;
    }
  }

  bytesPerToken(): number {
    return kvBytesPerToken(this.shape);
  }
}
