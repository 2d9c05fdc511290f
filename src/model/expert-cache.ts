/**
 * Mixture-of-experts weights on demand: the stacked expert tensors (`blk.N.ffn_{gate,up,down}_exps`)
 * stay in the file, and an expert's three matrices are read (positional reads of its slices) and
 * repacked into a weight slot of the KernelSet (KernelSet.reserveWeight) the first time a token
 * routes to it. Slots are reused least-recently-used first within a byte budget, so a model whose
 * experts do not fit in memory still runs, reading from disk what the cache misses. The products are
 * those of the resident model (same layout, same kernels), so results are bit-identical.
 *
 * Reads are synchronous (the forward pass is): the file must be a Node file or another source with
 * synchronous reads, and stay open as long as the model (the cache owns closing it).
 */
import { ModelError } from "../errors.js";
import { SHARD_WORKING_ROOM } from "../kernels/wasm/arena.js";
import type { GGUFFile } from "../gguf/reader.js";
import type { GGMLType } from "../gguf/types.js";
import type { KernelSet, WeightSlot } from "../kernels/kernel-set.js";
import { makeWeight, type Weight } from "./weights.js";

/** The three stacked expert tensors of one MoE layer (as bound: placeholders, no bytes). */
export interface LayerExperts {
  gate: Weight;
  up: Weight;
  down: Weight;
}

/** An expert's three matrices, ready for products. */
export interface ExpertMats {
  gate: Weight;
  up: Weight;
  down: Weight;
}

export interface ExpertCacheStats {
  hits: number;
  misses: number;
  /** File bytes read for misses. */
  bytesRead: number;
  evictions: number;
  /** Experts that fit in the budget at once. */
  slots: number;
  /** Bytes of one slot (the largest expert's three prepared matrices). */
  slotBytes: number;
}

/** Anything the MoE block asks for an expert's matrices (the cache, or resident slices). */
export interface ExpertSource {
  get(layer: number, e: number): ExpertMats;
}

const MATS = ["gate", "up", "down"] as const;

/** Bytes a matrix takes once prepared. */
export type MatrixSize = (type: GGMLType, rows: number, cols: number) => number;

/** Prepared bytes of one matrix of a stack (64-byte aligned) in `ks`, or its file bytes. */
function matBytes(ks: KernelSet | undefined, w: Weight): number {
  const b = ks?.preparedSize?.(w.type, w.rows, w.cols) ?? w.rows * w.rowBytes;
  return Math.ceil(b / 64) * 64;
}

/** Bytes one cache slot takes: the largest (over layers) sum of an expert's three matrices. */
export function expertSlotBytes(size: MatrixSize, layers: Iterable<LayerExperts>): number {
  let max = 0;
  for (const l of layers)
    max = Math.max(
      max,
      MATS.reduce((a, k) => a + Math.ceil(size(l[k].type, l[k].rows, l[k].cols) / 64) * 64, 0),
    );
  return max;
}

interface Entry {
  layer: number;
  e: number;
  mats: ExpertMats;
  slot: number;
}

export class ExpertCache implements ExpertSource {
  private readonly slotBytes: number;
  private readonly nSlots: number;
  /** Reserved slots (created as first needed), and which entry holds each. */
  private readonly slots: (WeightSlot | undefined)[] = [];
  private readonly holder: (Entry | undefined)[] = [];
  /** (layer, expert) -> entry, in least- to most-recently-used order (Map keeps insertion order). */
  private readonly lru = new Map<number, Entry>();
  private readonly nExperts: number;
  private readonly counts = { hits: 0, misses: 0, bytesRead: 0, evictions: 0 };
  /** The shard slots are reserved in (index into ks.sharding), moved on when one is full. */
  private shard: number;

  constructor(
    private readonly file: GGUFFile,
    private readonly ks: KernelSet | undefined,
    private readonly layers: ReadonlyMap<number, LayerExperts>,
    budgetBytes: number,
    /** Experts one token uses per layer: the fewest slots that make sense. */
    minExperts = 1,
    /** The shard slots are reserved in first (default the last one the model's weights made). */
    slotShard?: number,
  ) {
    const first = layers.values().next().value as LayerExperts | undefined;
    if (!first) throw new ModelError("no mixture-of-experts layers to cache", { file: file.path });
    this.nExperts = first.gate.nMat;
    this.slotBytes = expertSlotBytes((type, rows, cols) => {
      const w = makeWeight("", type, [cols, rows], new Uint8Array(0));
      return matBytes(ks, w);
    }, layers.values());
    this.nSlots = Math.floor(budgetBytes / this.slotBytes);
    if (this.nSlots < minExperts)
      throw new ModelError(
        `an expert cache of ${(budgetBytes / 2 ** 20).toFixed(1)} MiB holds ${this.nSlots} experts; one token uses ${minExperts} per layer (${(this.slotBytes / 2 ** 20).toFixed(2)} MiB each)`,
        { file: file.path, hint: "raise --max-memory, or keep the experts resident" },
      );
    this.shard = slotShard ?? (ks?.sharding ? ks.sharding.count - 1 : 0);
  }

  /** Bytes of the slots the budget allows (what the cache may occupy once full). */
  get capacityBytes(): number {
    return this.nSlots * this.slotBytes;
  }

  /** Closes the file the experts are read from (the model must not run afterwards). */
  async close(): Promise<void> {
    await this.file.close();
  }

  stats(): ExpertCacheStats {
    return { ...this.counts, slots: this.nSlots, slotBytes: this.slotBytes };
  }

  get(layer: number, e: number): ExpertMats {
    const key = layer * this.nExperts + e;
    const hit = this.lru.get(key);
    if (hit) {
      this.counts.hits++;
      this.lru.delete(key);
      this.lru.set(key, hit);
      return hit.mats;
    }
    this.counts.misses++;
    const l = this.layers.get(layer);
    if (!l || !(Number.isInteger(e) && e >= 0 && e < l.gate.nMat))
      throw new ModelError(`no expert ${e} in layer ${layer}`, { file: this.file.path });
    const slot = this.freeSlot();
    let offset = 0;
    const mats = {} as ExpertMats;
    for (const k of MATS) {
      const w = l[k];
      const size = w.rows * w.rowBytes;
      const t = this.file.tensorByName(w.name)!;
      const bytes = this.file.readTensorRangeSync(t, e * size, size);
      this.counts.bytesRead += size;
      const m = makeWeight(`${w.name}[${e}]`, w.type, [w.cols, w.rows], bytes);
      const s = this.slots[slot];
      const set = this.slotSet[slot];
      if (s && set) m.kernel = { ks: set, pw: s.put(offset, w.type, bytes, w.rows, w.cols) };
      else if (this.ks?.supports(w.type))
        m.kernel = { ks: this.ks, pw: this.ks.prepareWeight(w.type, bytes, w.rows, w.cols) };
      if (m.kernel) {
        m.data = new Uint8Array(0);
        m.f32 = undefined;
      }
      offset += matBytes(this.ks, w);
      mats[k] = m;
    }
    const entry: Entry = { layer, e, mats, slot };
    this.holder[slot] = entry;
    this.lru.set(key, entry);
    return mats;
  }

  /** The KernelSet (shard) of each slot. */
  private readonly slotSet: (KernelSet | undefined)[] = [];

  /** A slot to load into: a new one while under the budget, else the least recently used one. */
  private freeSlot(): number {
    if (this.slots.length < this.nSlots) {
      const i = this.slots.length;
      const [slot, set] = this.reserve();
      this.slots.push(slot);
      this.slotSet.push(set);
      this.holder.push(undefined);
      return i;
    }
    const [key, old] = this.lru.entries().next().value as [number, Entry];
    this.lru.delete(key);
    this.counts.evictions++;
    // whoever still holds old.mats must not use them: drop their handles
    for (const k of MATS) old.mats[k].kernel = undefined;
    this.holder[old.slot] = undefined;
    return old.slot;
  }

  /**
   * Reserves one slot in the current shard, moving to the next shard (created now) when this one
   * would keep less than a working room (activations, KV rows) besides its slots.
   */
  private reserve(): [WeightSlot | undefined, KernelSet | undefined] {
    const ks = this.ks;
    if (!ks?.reserveWeight) return [undefined, undefined];
    const sh = ks.sharding;
    if (!sh) return [ks.reserveWeight(this.slotBytes), ks];
    while (sh.usedBytes(this.shard) + this.slotBytes + SHARD_WORKING_ROOM > sh.memoryLimit) this.shard++;
    const set = sh.shard(this.shard);
    return [set.reserveWeight!(this.slotBytes), set];
  }
}
