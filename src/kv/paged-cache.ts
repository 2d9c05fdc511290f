/**
 * One sequence's view of a BlockPool, behind the same KVCache interface attention already uses:
 * position p lives in block table[p / B], row p % B. The engine reserves blocks before a forward
 * step (so a full pool means "wait", never a crash mid-step), adopts cached prefix blocks when a
 * sequence starts, and publishes its full blocks so later sequences can share them.
 * Shared blocks are only ever read: a sequence writes at positions >= its adopted prefix, which
 * lie in blocks it allocated itself.
 */
import { RecurrentStore, type RecurrentState } from "./recurrent.js";
import { ObservedQueries } from "./obs-queries.js";
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
import { dotRow, loadRow, madRow, storeRow, type KVStore } from "./quant-kv.js";

const HALF = fp16Table();

/**
 * A group of layers that share one BlockPool and one block table per sequence: layers are grouped
 * by attention kind (global, or a sliding window of `window` positions). A windowed group gives
 * back, at reserve() time, every block that lies wholly before the window of the next position to
 * compute, so its KV stays at about window + one step of positions however long the context grows.
 * Its table then has holes (-1) at the front.
 */
export interface KVGroup {
  pool: BlockPool;
  /** Model layer of each of the pool's layers (pool layer i = model layer layers[i]). */
  layers: readonly number[];
  /** 0 = global (keeps every position); W > 0: only positions > pos - W are ever read again. */
  window: number;
}

/** Per-sequence state of one group. */
interface GroupState {
  readonly pool: BlockPool;
  readonly layers: readonly number[];
  readonly window: number;
  readonly table: number[];
  /** The block table as i32 (for the kernels), kept in step with `table`; grown by doubling. */
  tableI32: Int32Array;
  /** Blocks [0, firstLive) were given back (windowed groups only). */
  firstLive: number;
  /** Blocks [0, published) already carry their prefix key in the pool (or are holes). */
  published: number;
  /** One reusable view per pool layer (no allocation per step). */
  views: KernelKVView[] | undefined;
}

export class PagedKVCache implements KVCache {
  readonly shape: Readonly<KVCacheShape>;
  private len = 0;
  private readonly B: number;
  private readonly groups: GroupState[];
  /** Model layer -> group index and the layer's index in its group's pool. */
  private readonly groupOf: Int32Array;
  private readonly localOf: Int32Array;
  /** Blocks at or past this index are never published (their rows were rewritten: context shift). */
  private publishLimit = Infinity;
  private readonly tk: KVDType;
  private readonly tv: KVDType;
  /** Accumulated attention per position (see KVCache.attnScores); after trackAttention(). */
  attnScores: Float64Array | undefined;
  /** The newest query rows per layer (see KVCache.observed); after observeQueries(). */
  observed: ObservedQueries | undefined;
  /** Recurrent layers' state of this sequence (kv/recurrent.ts); dropped with the cache. */
  private readonly recurrent: RecurrentStore | undefined;

  constructor(
    /** One pool for every layer (one global group), or the groups of a per-layer-kind cache. */
    pools: BlockPool | readonly KVGroup[],
    /** Most positions this sequence may hold (the context size). */
    capacity: number,
    /**
     * Prefix-cache namespace: blocks are shared only between caches with the same salt (rows
     * computed under other LoRA adapters differ). "" = the base model.
     */
    readonly prefixSalt = "",
  ) {
    const gs: readonly KVGroup[] = Array.isArray(pools)
      ? (pools as readonly KVGroup[])
      : [
          {
            pool: pools as BlockPool,
            layers: Array.from({ length: (pools as BlockPool).shape.nLayers }, (_, i) => i),
            window: 0,
          },
        ];
    if (gs.length === 0) throw new InputError("a paged KV cache needs at least one layer group");
    const s = gs[0].pool.shape;
    const nLayers = gs.reduce((n, g) => n + g.layers.length, 0);
    this.groupOf = new Int32Array(nLayers).fill(-1);
    this.localOf = new Int32Array(nLayers);
    gs.forEach((g, gi) => {
      const t = g.pool.shape;
      if (
        t.blockSize !== s.blockSize ||
        t.kWidth !== s.kWidth ||
        t.vWidth !== s.vWidth ||
        t.dtype !== s.dtype ||
        t.dtypeV !== s.dtypeV ||
        !!t.vFromK !== !!s.vFromK ||
        t.nLayers !== g.layers.length ||
        !(Number.isInteger(g.window) && g.window >= 0)
      )
        throw new InputError("KV layer groups must share one row layout and block size", {
          field: `group ${gi}`,
        });
      g.layers.forEach((l, i) => {
        if (!(l >= 0 && l < nLayers) || this.groupOf[l] !== -1)
          throw new InputError(`KV layer groups must cover layers 0..${nLayers - 1} once each`, {
            field: `group ${gi}`,
          });
        this.groupOf[l] = gi;
        this.localOf[l] = i;
      });
    });
    this.groups = gs.map((g) => ({
      pool: g.pool,
      layers: g.layers,
      window: g.window,
      table: [],
      tableI32: new Int32Array(8),
      firstLive: 0,
      published: 0,
      views: undefined,
    }));
    this.B = s.blockSize;
    this.shape = {
      nLayers,
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

  /** The pool of the group holding model layer 0 (a single-group cache's only pool). */
  get pool(): BlockPool {
    return this.groups[this.groupOf[0]].pool;
  }

  /** True when some group gives back blocks that fall out of its window. */
  get recycles(): boolean {
    return this.groups.some((g) => g.window > 0);
  }

  /** The window of the group holding `layer` (0: global). */
  groupWindow(layer: number): number {
    return this.groups[this.groupOf[layer]].window;
  }

  /** Per group: its window and the blocks this sequence holds now (holes not counted). */
  groupUsage(): { window: number; layers: number; blocks: number; bytes: number }[] {
    return this.groups.map((g) => {
      const blocks = g.table.reduce((n, b) => n + (b >= 0 ? 1 : 0), 0);
      return { window: g.window, layers: g.layers.length, blocks, bytes: blocks * g.pool.blockByteLength() };
    });
  }

  /** Start accumulating attention per position (scored eviction: kv/eviction.ts H2O). */
  trackAttention(): void {
    this.attnScores ??= new Float64Array(this.shape.capacity);
  }

  /** Start keeping the newest `window` query rows of every layer (SnapKV: kv/eviction.ts). */
  observeQueries(window: number, nLayers: number, qDim: number): void {
    this.observed ??= new ObservedQueries(window, nLayers, qDim);
  }

  state(layer: number): RecurrentState | undefined {
    return this.recurrent?.state(layer);
  }

  get length(): number {
    return this.len;
  }
  /** The block table of the group holding layer 0 (-1: a block given back). */
  get blocks(): readonly number[] {
    return this.groups[this.groupOf[0]].table;
  }

  /** Blocks still needed to hold `n` positions (per group; the most of any group). */
  blocksNeeded(n: number): number {
    return Math.max(0, Math.ceil(n / this.B) - this.groups[0].table.length);
  }

  /**
   * Windowed groups give back the blocks wholly before the window of position `from` (the next
   * position computed reads positions > from - window).
   */
  private recycle(from: number): void {
    for (const g of this.groups) {
      if (g.window <= 0) continue;
      const dead = Math.min(g.table.length, Math.floor(Math.max(0, from - g.window + 1) / this.B));
      for (; g.firstLive < dead; g.firstLive++) {
        const b = g.table[g.firstLive];
        if (b >= 0) g.pool.release(b);
        g.table[g.firstLive] = -1;
        g.tableI32[g.firstLive] = -1;
      }
      g.published = Math.max(g.published, g.firstLive);
    }
  }

  /** Make room for positions [0, n); false (nothing allocated) if a pool has too few blocks. */
  reserve(n: number): boolean {
    if (n > this.shape.capacity)
      throw new InputError(`sequence of ${n} tokens exceeds the context size ${this.shape.capacity}`);
    this.recycle(this.len);
    const need = this.blocksNeeded(n);
    if (need === 0) return true;
    for (const g of this.groups) if (need > g.pool.available) return false;
    for (const g of this.groups) for (let i = 0; i < need; i++) this.push(g, g.pool.allocate()!);
    return true;
  }

  /**
   * Adopt cached blocks holding a prefix of `tokens` (only on an empty sequence). At most
   * floor((len - 1) / B) blocks, so at least the last prompt token is computed and yields logits.
   * A global group needs every block of the prefix; a windowed group only those the window of the
   * first computed position reaches (older ones stay holes), so a prefix whose windowed blocks
   * were evicted from the cache is adopted only as far as they remain.
   * Returns the number of positions reused.
   */
  adoptPrefix(tokens: ArrayLike<number>): number {
    if (this.len !== 0 || this.groups.some((g) => g.table.length !== 0))
      throw new InputError("adoptPrefix needs an empty sequence");
    // A recurrent state has no snapshot at block boundaries: compute the whole prompt.
    if (this.recurrent) return 0;
    const keys = blockKeys(
      tokens,
      this.B,
      Math.floor(Math.max(0, tokens.length - 1) / this.B),
      this.prefixSalt,
    );
    let m = keys.length;
    for (const g of this.groups)
      if (g.window <= 0) {
        let i = 0;
        while (i < m && g.pool.hasKey(keys[i])) i++;
        m = i;
      }
    const lo = (g: GroupState, m: number) =>
      g.window > 0 ? Math.floor(Math.max(0, m * this.B - g.window + 1) / this.B) : 0;
    const fits = (m: number) =>
      this.groups.every((g) => {
        for (let i = lo(g, m); i < m; i++) if (!g.pool.hasKey(keys[i])) return false;
        return true;
      });
    while (m > 0 && !fits(m)) m--;
    // A lookup that stopped short of the whole key chain counts as one missed query (stats).
    if (m < keys.length) for (const g of this.groups) g.pool.prefixQueries++;
    for (const g of this.groups) {
      const first = lo(g, m);
      for (let i = 0; i < m; i++) this.push(g, i < first ? -1 : g.pool.acquireByKey(keys[i])!);
      g.firstLive = first;
      g.published = m;
    }
    this.len = m * this.B;
    return this.len;
  }

  /** Publish every full, computed block of this sequence (tokens = all tokens at positions 0..). */
  publishFull(tokens: ArrayLike<number>): void {
    const full = Math.min(
      Math.floor(this.len / this.B),
      Math.floor(tokens.length / this.B),
      this.publishLimit,
    );
    if (this.groups.every((g) => full <= g.published)) return;
    const keys = blockKeys(tokens, this.B, full, this.prefixSalt);
    for (const g of this.groups) {
      for (let i = g.published; i < full; i++) if (g.table[i] >= 0) g.pool.publish(g.table[i], keys[i]);
      g.published = Math.max(g.published, full);
    }
  }

  private push(g: GroupState, b: number): void {
    g.table.push(b);
    if (g.table.length > g.tableI32.length) {
      const t = new Int32Array(g.tableI32.length * 2);
      t.set(g.tableI32);
      g.tableI32 = t;
      if (g.views) for (const v of g.views) v.kv.table = t;
    }
    g.tableI32[g.table.length - 1] = b;
  }

  /**
   * Layer `layer` as a paged view for `ks.attentionPaged` (rows read in place), when the pool
   * lives in a KernelSet's memory. With vFromK (MLA) `v` is the K storage itself. A windowed
   * group's table holds -1 for blocks given back; the kernel reads only positions in the window.
   */
  kernelView(layer: number): KernelKVView | undefined {
    const g = this.groups[this.groupOf[layer]];
    if (!g.pool.ks) return undefined;
    if (!g.views) {
      g.views = [];
      for (let l = 0; l < g.layers.length; l++) {
        g.views.push({
          ks: g.pool.layerKs[l]!,
          kv: {
            k: g.pool.k[l],
            // MLA (vFromK): V is the first kvLoraRank floats of each K row, so v is k.
            v: this.shape.vFromK ? g.pool.k[l] : g.pool.v[l],
            half: this.shape.dtype === "f16",
            kType: this.tk,
            vType: this.tv,
            table: g.tableI32,
            blockSize: this.B,
          },
        });
      }
    }
    return g.views[this.localOf[layer]];
  }

  /** Give every block back to the pool (the sequence is done or cancelled). */
  free(): void {
    this.attnScores?.fill(0);
    this.observed?.truncate(0);
    for (const g of this.groups) {
      for (const b of g.table) if (b >= 0) g.pool.release(b);
      g.table.length = 0;
      g.firstLive = 0;
      g.published = 0;
    }
    this.len = 0;
    this.publishLimit = Infinity;
  }

  /** Pool and row of a model layer's position. */
  private row(layer: number, pos: number): number {
    const b = this.groups[this.groupOf[layer]].table[Math.floor(pos / this.B)];
    if (b === undefined || pos < 0)
      throw new InputError(`position ${pos} has no KV block reserved`, { hint: "reserve() before forward" });
    if (b < 0)
      throw new InputError(
        `position ${pos} of layer ${layer} fell out of its sliding window (block given back)`,
        {
          hint: "keep full KV for sliding-window layers (--swa-full)",
        },
      );
    return b * this.B + (pos % this.B);
  }

  private kOf(layer: number): KVStore {
    return this.groups[this.groupOf[layer]].pool.k[this.localOf[layer]];
  }
  private vOf(layer: number): KVStore {
    return this.groups[this.groupOf[layer]].pool.v[this.localOf[layer]];
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
    storeRow(this.tk, this.kOf(layer), this.row(layer, pos), this.shape.kWidth, src, so);
  }

  writeV(layer: number, pos: number, src: Float32Array, so: number): void {
    if (this.shape.vFromK) throw new InputError("this cache reads V from K; writeV is not used");
    storeRow(this.tv, this.vOf(layer), this.row(layer, pos), this.shape.vWidth, src, so);
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
    const kd = this.kOf(layer) as Float32Array | Uint16Array;
    const vd = this.shape.vFromK ? undefined : (this.vOf(layer) as Float32Array | Uint16Array);
    // Positions in one block are consecutive rows of the pool: one store per block run.
    for (let p = pos0; p < pos0 + n;) {
      const run = Math.min(pos0 + n - p, this.B - (p % this.B));
      const r = this.row(layer, p);
      const t = p - pos0;
      PagedKVCache.store(kd, r * kWidth, k, ko + t * kWidth, run * kWidth);
      if (vd) PagedKVCache.store(vd, r * vWidth, v, vo + t * vWidth, run * vWidth);
      p += run;
    }
  }

  dotK(layer: number, pos: number, off: number, q: Float32Array, qo: number, n: number): number {
    return dotRow(this.tk, this.kOf(layer), this.row(layer, pos), this.shape.kWidth, off, q, qo, n);
  }

  addV(layer: number, pos: number, off: number, w: number, out: Float32Array, oo: number, n: number): void {
    const r = this.row(layer, pos);
    if (this.shape.vFromK) madRow(this.tk, this.kOf(layer), r, this.shape.kWidth, off, w, out, oo, n);
    else madRow(this.tv, this.vOf(layer), r, this.shape.vWidth, off, w, out, oo, n);
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
    const r = this.row(layer, pos);
    if (which === "k" || this.shape.vFromK)
      loadRow(this.tk, this.kOf(layer), r, this.shape.kWidth, off, dst, dstOff, n);
    else loadRow(this.tv, this.vOf(layer), r, this.shape.vWidth, off, dst, dstOff, n);
  }

  /**
   * Before rows at positions >= `from` are rewritten in place (context shift) and the sequence is
   * cut to `newLen` positions: blocks holding them that others see (shared or in the prefix cache)
   * are replaced by private copies, and no block from there on is ever published again (its rows
   * no longer equal a fresh prefill of the tokens). A windowed group gets fresh blocks where it had
   * given some back but the window of position newLen reaches (see rewriteFrom).
   */
  prepareRewrite(from: number, newLen = this.len): void {
    const b0 = Math.floor(from / this.B);
    this.publishLimit = Math.min(this.publishLimit, b0);
    for (const g of this.groups) {
      g.published = Math.min(g.published, b0);
      const needFrom = Math.floor(this.rewriteFrom(g.window, from, newLen) / this.B);
      for (let i = b0; i < g.table.length; i++) {
        const b = g.table[i];
        if (b < 0) {
          if (i < needFrom) continue;
          const fresh = g.pool.allocate();
          if (fresh === undefined)
            throw new InputError("KV pool exhausted while refilling a sliding window for a context shift");
          g.table[i] = g.tableI32[i] = fresh;
          g.firstLive = Math.min(g.firstLive, i);
          continue;
        }
        if (g.pool.makePrivate(b)) continue;
        const fresh = g.pool.allocate();
        if (fresh === undefined)
          throw new InputError("KV pool exhausted while un-sharing blocks for a context shift");
        g.pool.copyBlock(b, fresh);
        g.pool.release(b);
        g.table[i] = fresh;
        g.tableI32[i] = fresh;
      }
      // Holes before the first live block stay holes (firstLive counts leading holes only).
      let f = 0;
      while (f < g.table.length && g.table[f] < 0) f++;
      g.firstLive = f;
    }
  }

  /**
   * First position a rewrite that cuts the sequence to `newLen` must fill in a group with this
   * window: a windowed group needs only positions the window of position newLen reaches.
   */
  rewriteFrom(window: number, from: number, newLen: number): number {
    return window > 0 ? Math.max(from, newLen - window + 1) : from;
  }

  roundInput(x: Float32Array, xo: number, n: number): void {
    if (this.shape.dtype !== "f16") return;
    for (let i = 0; i < n; i++) x[xo + i] = HALF[fp32ToFp16(x[xo + i])];
  }

  setLength(n: number): void {
    const cap = this.groups[0].table.length * this.B;
    if (n < 0 || n > cap) throw new InputError(`length ${n} outside the ${cap} reserved positions`);
    this.len = n;
  }

  /**
   * Drop positions >= n. A windowed group that already gave back blocks the window of position n
   * reaches cannot resume there: the sequence is then cut to 0 and recomputed from the start
   * (llama.cpp re-processes the prompt in this case too); callers read `length` afterwards.
   */
  truncate(n: number): void {
    if (n < 0) throw new InputError(`cannot truncate to ${n}`);
    this.recurrent?.checkTruncate(this.len, n);
    this.len = Math.min(this.len, n);
    for (const g of this.groups) {
      if (g.window <= 0 || this.len === 0) continue;
      for (let i = Math.floor(Math.max(0, this.len - g.window + 1) / this.B); i * this.B < this.len; i++)
        if (g.table[i] < 0) {
          this.free();
          return;
        }
    }
    // Positions past the end will be written again: their attention starts from nothing.
    this.attnScores?.fill(0, this.len);
    this.observed?.truncate(this.len);
    // Blocks wholly past the new end go back to the pool.
    const keep = Math.ceil(this.len / this.B);
    for (const g of this.groups) {
      while (g.table.length > keep) {
        const b = g.table.pop()!;
        if (b >= 0) g.pool.release(b);
      }
      g.firstLive = Math.min(g.firstLive, g.table.length);
      g.published = Math.min(g.published, Math.floor(this.len / this.B));
      // The new last block is now partial and will be written again: copy it first if others see it.
      const last = g.table.length - 1;
      if (this.len % this.B !== 0 && last >= 0 && g.table[last] >= 0 && g.pool.isShared(g.table[last])) {
        const fresh = g.pool.allocate();
        if (fresh === undefined) throw new InputError("KV pool exhausted while un-sharing a truncated block");
        g.pool.copyBlock(g.table[last], fresh);
        g.pool.release(g.table[last]);
        g.table[last] = fresh;
        g.tableI32[last] = fresh;
      }
    }
  }

  bytesPerToken(): number {
    return kvBytesPerToken(this.shape);
  }
}
