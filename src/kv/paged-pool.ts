/**
 * A pool of fixed-size KV blocks shared by every sequence of an engine (vLLM-style paging).
 * Storage per layer: K [nBlocks * blockSize][kWidth], V [nBlocks * blockSize][vWidth] (F32 or
 * F16 bits). A block is either free, held by sequences (refcount > 0), or cached: unreferenced
 * but still holding a full block of a known token prefix, findable by its prefix key and evicted
 * least-recently-released first when a fresh block is needed.
 *
 * Prefix key of full block i of a sequence = hash64(key of block i-1) + ":" + its token ids, so a
 * hit means the same tokens at the same positions after the same (hashed) prefix.
 */
import { hash64 } from "../hash.js";
import type { RecurrentShape } from "./recurrent.js";
import { InputError } from "../errors.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import type { KVDType } from "./cache.js";
import { allocKVStore, kvRowElems, type KVStore } from "./quant-kv.js";

export interface PagedShape {
  nLayers: number;
  kWidth: number;
  /** 0 with vFromK (MLA: V rows are a prefix of K rows). */
  vWidth: number;
  vFromK?: boolean;
  dtype: KVDType;
  /** V rows' format when it differs from K's. */
  dtypeV?: KVDType;
  /** Hadamard rotation of the stored rows (see KVCacheShape / kv/hadamard.ts). */
  rotK?: number;
  rotV?: number;
  /** Positions per block. */
  blockSize: number;
  nBlocks: number;
  /** Recurrent layers: each sequence's cache keeps their state (kv/recurrent.ts), not the pool. */
  recurrent?: RecurrentShape;
}

export interface PoolStats {
  nBlocks: number;
  /** Blocks referenced by live sequences. */
  used: number;
  /** Unreferenced blocks that still hold a reusable prefix. */
  cached: number;
  free: number;
  prefixQueries: number;
  prefixHits: number;
}

export class BlockPool {
  readonly shape: Readonly<PagedShape>;
  readonly k: KVStore[] = [];
  readonly v: KVStore[] = [];
  /** The KernelSet whose memory holds each layer's rows (undefined: plain arrays). */
  readonly layerKs: (KernelSet | undefined)[] = [];
  private readonly refs: Int32Array;
  private readonly keyOf: (string | undefined)[];
  private readonly byKey = new Map<string, number>();
  /** Cached (refcount 0, keyed) blocks in release order: first = least recently released. */
  private readonly evictable = new Set<number>();
  private readonly freeList: number[] = [];
  prefixQueries = 0;
  prefixHits = 0;

  /**
   * `ks`: keep the rows in that KernelSet's memory (alloc() views) so its attention reads them in
   * place (PagedKVCache.kernelView); without it they are plain arrays. `layerKs`: the set of each
   * layer when they differ (weights sharded over several memories: a layer's rows live in the
   * shard that runs it, Transformer.kernelsOf).
   */
  constructor(
    shape: PagedShape,
    readonly ks?: KernelSet,
    layerKs?: (layer: number) => KernelSet | undefined,
  ) {
    if (!(shape.blockSize >= 1 && shape.nBlocks >= 1 && shape.kWidth >= 1 && shape.nLayers >= 1)) {
      throw new InputError("invalid paged KV shape", { field: JSON.stringify(shape) });
    }
    for (const [r, w] of [
      [shape.rotK ?? 0, shape.kWidth],
      [shape.rotV ?? 0, shape.vFromK ? 0 : shape.vWidth],
    ])
      if (r !== 0 && !(Number.isInteger(r) && r >= 2 && (r & (r - 1)) === 0 && w % r === 0))
        throw new InputError(`invalid KV rotation block ${r} for rows of ${w}`, {
          field: JSON.stringify(shape),
        });
    this.shape = { ...shape };
    const rows = shape.nBlocks * shape.blockSize;
    const tv = shape.dtypeV ?? shape.dtype;
    for (let l = 0; l < shape.nLayers; l++) {
      const lks = ks ? (layerKs?.(l) ?? ks) : undefined;
      this.layerKs.push(lks);
      this.k.push(allocKVStore(shape.dtype, rows, shape.kWidth, lks));
      this.v.push(allocKVStore(tv, shape.vFromK ? 0 : rows, shape.vWidth, lks));
    }
    this.refs = new Int32Array(shape.nBlocks);
    this.keyOf = new Array(shape.nBlocks);
    for (let b = shape.nBlocks - 1; b >= 0; b--) this.freeList.push(b);
  }

  /** Blocks a new allocation can get (free + evictable cached). */
  get available(): number {
    return this.freeList.length + this.evictable.size;
  }

  stats(): PoolStats {
    const free = this.freeList.length;
    const cached = this.evictable.size;
    return {
      nBlocks: this.shape.nBlocks,
      used: this.shape.nBlocks - free - cached,
      cached,
      free,
      prefixQueries: this.prefixQueries,
      prefixHits: this.prefixHits,
    };
  }

  /** A fresh private block (refcount 1), or undefined when the pool is exhausted. */
  allocate(): number | undefined {
    let b = this.freeList.pop();
    if (b === undefined) {
      const first = this.evictable.values().next();
      if (first.done) return undefined;
      b = first.value;
      this.evictable.delete(b);
      this.byKey.delete(this.keyOf[b]!);
      this.keyOf[b] = undefined;
    }
    this.refs[b] = 1;
    return b;
  }

  release(b: number): void {
    if (this.refs[b] <= 0) throw new InputError(`KV block ${b} released more often than held`);
    if (--this.refs[b] > 0) return;
    if (this.keyOf[b] !== undefined) this.evictable.add(b);
    else this.freeList.push(b);
  }

  /** The cached block for a prefix key, now held by the caller; undefined on a miss. */
  acquireByKey(key: string): number | undefined {
    this.prefixQueries++;
    const b = this.byKey.get(key);
    if (b === undefined) return undefined;
    this.prefixHits++;
    if (this.refs[b] === 0) this.evictable.delete(b);
    this.refs[b]++;
    return b;
  }

  /** True when writing into block b could change what another sequence or the prefix cache sees. */
  isShared(b: number): boolean {
    return this.refs[b] > 1 || this.keyOf[b] !== undefined;
  }

  /**
   * Make a held block private before its rows change: true if it now is (no other holder; its
   * prefix key, if any, is withdrawn), false if other sequences hold it (copy it instead).
   */
  makePrivate(b: number): boolean {
    if (this.refs[b] !== 1) return false;
    const key = this.keyOf[b];
    if (key !== undefined) {
      this.byKey.delete(key);
      this.keyOf[b] = undefined;
    }
    return true;
  }

  /** Copy every layer's rows of block `src` into block `dst`. */
  copyBlock(src: number, dst: number): void {
    const B = this.shape.blockSize;
    for (let l = 0; l < this.shape.nLayers; l++) {
      for (const [arr, w] of [
        [this.k[l], kvRowElems(this.shape.dtype, this.shape.kWidth)],
        [this.v[l], kvRowElems(this.shape.dtypeV ?? this.shape.dtype, this.shape.vWidth)],
      ] as const) {
        if (w === 0 || arr.length === 0) continue;
        arr.copyWithin(dst * B * w, src * B * w, (src + 1) * B * w);
      }
    }
  }

  /** Bytes of one block across every layer (K rows then V rows per layer), as saved sessions store it. */
  blockByteLength(): number {
    let n = 0;
    for (let l = 0; l < this.shape.nLayers; l++)
      for (const [arr, w] of this.layerRows(l)) n += w * arr.BYTES_PER_ELEMENT;
    return n * this.shape.blockSize;
  }

  /** Copy block b's raw rows (every layer, K then V) into dst at off (blockByteLength bytes). */
  readBlock(b: number, dst: Uint8Array, off: number): void {
    this.blockBytes(b, (view) => {
      dst.set(view, off);
      off += view.length;
    });
  }

  /** Overwrite block b's raw rows from src at off (the layout readBlock writes). */
  writeBlock(b: number, src: Uint8Array, off: number): void {
    this.blockBytes(b, (view) => {
      view.set(src.subarray(off, off + view.length));
      off += view.length;
    });
  }

  /** The cached or held block published under `key`, without acquiring it (undefined on a miss). */
  peekByKey(key: string): number | undefined {
    return this.byKey.get(key);
  }

  /** Whether a prefix key is published. */
  hasKey(key: string): boolean {
    return this.byKey.has(key);
  }

  private layerRows(l: number): [KVStore, number][] {
    return [
      [this.k[l], kvRowElems(this.shape.dtype, this.shape.kWidth)],
      [
        this.v[l],
        this.shape.vFromK ? 0 : kvRowElems(this.shape.dtypeV ?? this.shape.dtype, this.shape.vWidth),
      ],
    ];
  }

  private blockBytes(b: number, visit: (view: Uint8Array) => void): void {
    const B = this.shape.blockSize;
    for (let l = 0; l < this.shape.nLayers; l++) {
      for (const [arr, w] of this.layerRows(l)) {
        if (w === 0 || arr.length === 0) continue;
        const e = arr.BYTES_PER_ELEMENT;
        visit(new Uint8Array(arr.buffer, arr.byteOffset + b * B * w * e, B * w * e));
      }
    }
  }

  /** Publish a held, now full block under its prefix key (first writer wins). */
  publish(b: number, key: string): void {
    if (this.keyOf[b] !== undefined || this.byKey.has(key)) return;
    this.keyOf[b] = key;
    this.byKey.set(key, b);
  }
}

/** 64-bit FNV-1a over a string, as 16 hex digits (two 32-bit lanes; no BigInt on the hot path). */

/** Prefix keys of the full blocks of `tokens` (block i covers tokens [i*B, (i+1)*B)). */
export function blockKeys(
  tokens: ArrayLike<number>,
  blockSize: number,
  nBlocks = Math.floor(tokens.length / blockSize),
  /** Namespace of the chain (e.g. the LoRA adapters the rows were computed with); "" = none. */
  salt = "",
): string[] {
  const keys: string[] = [];
  let parent = salt;
  for (let i = 0; i < nBlocks; i++) {
    const ids = Array.prototype.slice.call(tokens, i * blockSize, (i + 1) * blockSize).join(",");
    const key = hash64(parent) + ":" + ids;
    keys.push(key);
    parent = key;
  }
  return keys;
}

export { hash64 };
