/**
 * Dense streaming (a model whose weights exceed the memory budget): every matrix of the
 * transformer layers (`blk.N.*` that the KernelSet takes) stays in the file, and a few layer slots
 * are reserved in kernel memory (KernelSet.reserveWeight). Before layer l runs, the forward pass
 * asks `ensure(l)`: the layer's matrices are read (positional reads) and repacked into a slot, as
 * the expert cache does for experts; the rest of the model (embeddings, output head, norms, KV
 * rows) stays resident. The products are the resident model's (same layout, same kernels), so
 * results are bit-identical.
 *
 * Slots: layers are visited in a cycle (0..n-1 per forward call), where least-recently-used
 * eviction would miss every time. So the first `slots - ring` layers are pinned (read once) and the
 * remaining layers take turns in `ring` rotating slots; each forward call reads
 * `nLayers - pinned` layers. A `LayerLoader` may read and pack ahead (a worker thread doing
 * positional reads and packing into shared memory while this thread computes,
 * node-layer-loader.ts); the default reads and packs here, synchronously.
 *
 * The file must stay open as long as the model (the stream owns closing it).
 */
import { ModelError } from "../errors.js";
import type { GGUFFile } from "../gguf/reader.js";
import { ggmlRowBytes } from "../gguf/types.js";
import type { KernelSet, PreparedWeight, WeightSlot } from "../kernels/kernel-set.js";
import { makeWeight, type Weight } from "./weights.js";

/** Bytes a matrix takes once prepared. */
export type MatrixSize = (type: Weight["type"], rows: number, cols: number) => number;

const align64 = (n: number) => Math.ceil(n / 64) * 64;

/** A matrix (or stack) as slot sizing sees it: a bound Weight, or a tensor's shape. */
type MatrixShape = Pick<Weight, "type" | "rows" | "cols" | "nMat">;

/** Bytes of one layer slot: the largest layer's prepared matrices (each 64-byte aligned). */
export function layerSlotBytes(size: MatrixSize, layers: Iterable<readonly MatrixShape[]>): number {
  let max = 0;
  for (const ws of layers) {
    let b = 0;
    for (const w of ws) b += w.nMat * align64(size(w.type, w.rows, w.cols));
    max = Math.max(max, b);
  }
  return max;
}

/** One matrix (or stack) of a streamed layer and the slot offset of each of its matrices. */
export interface StreamedMatrix {
  w: Weight;
  offsets: number[];
}

/**
 * Puts a layer's matrices into a slot. `load` returns the prepared handles (per matrix of `mats`,
 * one per stacked matrix); `ahead` hints that layer l will be loaded next (a loader that reads and
 * packs in another thread starts it now, node-layer-loader.ts).
 */
export interface LayerLoader {
  load(layer: number, mats: readonly StreamedMatrix[], slot: WeightSlot): PreparedWeight[][];
  ahead?(layer: number): void;
  /** Milliseconds this thread was blocked reading (sync reads, or waiting for read-ahead). */
  readonly readMs: number;
  /** Milliseconds this thread spent packing (or copying packed bytes) into slots. */
  readonly packMs: number;
  /** Milliseconds another thread spent reading and packing ahead (overlapping compute), if any. */
  readonly aheadMs: number;
  close(): Promise<void>;
}

/** Makes the loader of a stream (LoadOptions.layerLoader): default SyncLayerLoader. */
export type LayerLoaderFactory = (
  file: GGUFFile,
  ks: KernelSet,
  layers: ReadonlyMap<number, readonly StreamedMatrix[]>,
  slotBytes: number,
) => LayerLoader;

/** Positional reads and packing on this thread (GGUFFile.readTensorSync, WeightSlot.put). */
export class SyncLayerLoader implements LayerLoader {
  readMs = 0;
  packMs = 0;
  readonly aheadMs = 0;
  constructor(private readonly file: GGUFFile) {}
  load(_layer: number, mats: readonly StreamedMatrix[], slot: WeightSlot): PreparedWeight[][] {
    return mats.map(({ w, offsets }) => {
      const t0 = performance.now();
      const data = this.file.readTensorSync(w.name);
      const t1 = performance.now();
      this.readMs += t1 - t0;
      const matBytes = w.rows * w.rowBytes;
      const out = offsets.map((off, e) =>
        slot.put(off, w.type, data.subarray(e * matBytes, (e + 1) * matBytes), w.rows, w.cols),
      );
      this.packMs += performance.now() - t1;
      return out;
    });
  }
  async close(): Promise<void> {}
}

export interface LayerStreamStats {
  /** ensure() calls served by a layer already in its slot. */
  hits: number;
  /** Layers read from the file and packed into a slot. */
  loads: number;
  /** File bytes read. */
  bytesRead: number;
  /** Milliseconds the forward pass was blocked on reads (including waiting for read-ahead). */
  readMs: number;
  /** Milliseconds the forward pass spent packing (or copying packed layers) into slots. */
  repackMs: number;
  /** Milliseconds a reader thread spent reading and packing ahead, overlapping compute. */
  aheadMs: number;
  /** Slots (pinned + rotating) and bytes of one. */
  slots: number;
  pinned: number;
  slotBytes: number;
}

export class LayerStream {
  readonly slotBytes: number;
  readonly nSlots: number;
  /** Layers 0..pinned-1 keep their own slot once read. */
  readonly pinned: number;
  private readonly slots: WeightSlot[] = [];
  /** Which layer each slot holds (-1: none). */
  private readonly holder: number[] = [];
  /** Which slot holds each layer (-1: none). */
  private readonly slotOf: number[];
  private readonly layerIds: number[];
  private nextRing = 0;
  private readonly counts = { hits: 0, loads: 0, bytesRead: 0 };
  /** Per streamed layer, its matrices with their offsets in a slot. */
  private readonly mats = new Map<number, StreamedMatrix[]>();
  private readonly loader: LayerLoader;

  constructor(
    private readonly file: GGUFFile,
    private readonly ks: KernelSet,
    /** Per streamed layer, its matrices as bound placeholders (no bytes); products use them. */
    private readonly layers: ReadonlyMap<number, readonly Weight[]>,
    nSlots: number,
    loader?: LayerLoaderFactory,
    /** Rotating slots (the rest are pinned). */
    ring = 1,
  ) {
    if (!ks.reserveWeight)
      throw new ModelError("streaming layers needs a KernelSet with weight slots (the WASM kernels)", {
        file: file.path,
        hint: "load the model with the WASM kernels, or keep its weights resident",
      });
    this.layerIds = [...layers.keys()].sort((a, b) => a - b);
    const n = this.layerIds.length;
    this.nSlots = Math.min(nSlots, n);
    if (!(this.nSlots >= 1))
      throw new ModelError(`streaming layers needs at least one layer slot, got ${nSlots}`, {
        file: file.path,
        hint: "raise --max-memory",
      });
    this.pinned = this.nSlots >= n ? n : Math.max(0, this.nSlots - ring);
    const psize: MatrixSize = (type, rows, cols) =>
      ks.preparedSize?.(type, rows, cols) ?? rows * ggmlRowBytes(type, cols);
    const size = (w: Weight) => align64(psize(w.type, w.rows, w.cols));
    this.slotBytes = layerSlotBytes(psize, layers.values());
    for (const [l, ws] of layers) {
      let offset = 0;
      this.mats.set(
        l,
        ws.map((w) => ({
          w,
          offsets: Array.from({ length: w.nMat }, () => (offset += size(w)) - size(w)),
        })),
      );
    }
    this.slotOf = new Array<number>((this.layerIds[n - 1] ?? 0) + 1).fill(-1);
    this.loader = (loader ?? ((f) => new SyncLayerLoader(f)))(file, ks, this.mats, this.slotBytes);
  }

  /** Bytes the slots take once all are reserved. */
  get capacityBytes(): number {
    return this.nSlots * this.slotBytes;
  }

  stats(): LayerStreamStats {
    return {
      ...this.counts,
      readMs: this.loader.readMs,
      repackMs: this.loader.packMs,
      aheadMs: this.loader.aheadMs,
      slots: this.nSlots,
      pinned: this.pinned,
      slotBytes: this.slotBytes,
    };
  }

  /** Whether layer l's matrices come from this stream. */
  has(layer: number): boolean {
    return this.layers.has(layer);
  }

  /** Makes layer l's matrices ready for products (reading and repacking them if needed). */
  ensure(layer: number): void {
    const ws = this.layers.get(layer);
    if (!ws) return;
    if (this.slotOf[layer]! >= 0) {
      this.counts.hits++;
      this.hint(layer);
      return;
    }
    const rank = this.layerIds.indexOf(layer);
    const slot = rank < this.pinned ? rank : this.pinned + (this.nextRing++ % (this.nSlots - this.pinned));
    while (this.slots.length <= slot) {
      this.slots.push(this.ks.reserveWeight!(this.slotBytes));
      this.holder.push(-1);
    }
    const old = this.holder[slot]!;
    if (old >= 0) {
      // whoever still holds the evicted layer's handles must not use them
      for (const w of this.layers.get(old)!) {
        w.kernel = undefined;
        w.mats = undefined;
      }
      this.slotOf[old] = -1;
    }
    const mats = this.mats.get(layer)!;
    const handles = this.loader.load(layer, mats, this.slots[slot]!);
    mats.forEach(({ w }, i) => {
      const pws = handles[i]!;
      this.counts.bytesRead += w.nMat * w.rows * w.rowBytes;
      if (w.nMat === 1) {
        w.kernel = { ks: this.ks, pw: pws[0]! };
        return;
      }
      w.mats = pws.map((pw, e) => {
        const m = makeWeight(`${w.name}[${e}]`, w.type, [w.cols, w.rows], new Uint8Array(0));
        m.f32 = undefined;
        m.kernel = { ks: this.ks, pw };
        return m;
      });
    });
    this.counts.loads++;
    this.holder[slot] = layer;
    this.slotOf[layer] = slot;
    this.hint(layer);
  }

  /** Tells the reader which layer will be read next, if any (the next one not in a slot). */
  private hint(layer: number): void {
    if (!this.loader.ahead) return;
    const n = this.layerIds.length;
    const rank = this.layerIds.indexOf(layer);
    for (let k = 1; k <= n; k++) {
      const next = this.layerIds[(rank + k) % n]!;
      if (this.slotOf[next]! < 0) {
        this.loader.ahead(next);
        return;
      }
    }
  }

  /** Closes the reader and the file the layers are read from (the model must not run afterwards). */
  async close(): Promise<void> {
    await this.loader.close();
    await this.file.close();
  }
}
