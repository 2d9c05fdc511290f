/**
 * Node: streamed layers (layer-stream.ts) read and packed ahead in a worker thread. The worker opens
 * the model's file(s) itself, reads the next layer's tensors with positional reads and packs them
 * (kernels/wasm/repack.ts packInto, the set's own int8-dot choice) into a SharedArrayBuffer laid
 * out as a slot; when the forward pass reaches that layer it waits only if the worker is behind,
 * then copies the packed bytes into the slot (WeightSlot.putPacked). Two workers share a layer's
 * tensors (packing is the costly part: ~4x the read time from the page cache), one staging buffer:
 * they start the following layer once this one is copied out. Sources without a local file path, or
 * sets without putPacked, fall back to SyncLayerLoader. Node-only (worker_threads, node:fs in the
 * worker); load it with nodeImport from isomorphic code.
 *
 * Prepared-layout cache (`packedCache`, the CLI's --stream-cache): a file holding each streamed
 * layer's packed slot image, written as layers are first packed; afterwards a layer is one
 * sequential read of its image into the staging buffer, no packing. The header keys it by the
 * model files (path, size, mtime), the set's packing and the slot layout; any change rebuilds it.
 * Layout: 4 KiB header (magic line, JSON), then per layer a state record (1 = complete, then its
 * matrices' int8-dot flags), then from a 4 KiB boundary one slot image per layer.
 */
import { closeSync, existsSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { hash64 } from "../hash.js";
import { Worker } from "node:worker_threads";
import { ModelError } from "../errors.js";
import type { GGUFFile } from "../gguf/reader.js";
import type { PreparedWeight, WeightSlot } from "../kernels/kernel-set.js";
import { packedBytes } from "../kernels/wasm/repack.js";
import {
  SyncLayerLoader,
  type LayerLoader,
  type LayerLoaderFactory,
  type StreamedMatrix,
} from "./layer-stream.js";
import {
  CTRL,
  ERROR_BYTES,
  type LoaderJob,
  type LoaderInit,
  type PackedCacheInit,
} from "./layer-loader-protocol.js";

const MAGIC = "EDGELLM-PACKED-LAYERS 1\n";
const HEADER = 4096;

/** The open prepared-layout cache, on the forward's thread (it marks completed layers). */
interface PackedCache {
  init: PackedCacheInit;
  fd: number;
  cached: Int32Array;
  /** Per rank: [complete, flag...]. */
  state: Uint8Array;
  recordBytes: number;
}

/** Opens (or creates, or rebuilds when its key differs) the cache file for these jobs. */
function openPackedCache(
  path: string,
  key: string,
  layers: number[],
  nFlags: number,
  layerBytes: Record<number, number>,
): PackedCache {
  const recordBytes = 1 + nFlags;
  const state = new Uint8Array(layers.length * recordBytes);
  const dataStart = Math.ceil((HEADER + state.length) / 4096) * 4096;
  const head = `${MAGIC}${JSON.stringify({ key, layers: layers.length, nFlags })}\n`;
  let fd: number;
  try {
    let reuse = false;
    if (existsSync(path)) {
      fd = openSync(path, "r+");
      const h = new Uint8Array(HEADER);
      readSync(fd, h, 0, HEADER, 0);
      reuse = new TextDecoder().decode(h.subarray(0, head.length)) === head;
      if (reuse) readSync(fd, state, 0, state.length, HEADER);
      else closeSync(fd);
    }
    if (!reuse) {
      fd = openSync(path, "w+");
      const h = new Uint8Array(HEADER);
      h.set(new TextEncoder().encode(head));
      writeSync(fd, h, 0, HEADER, 0);
      writeSync(fd, state, 0, state.length, HEADER);
    }
  } catch (e) {
    throw new ModelError(`cannot open the prepared-layout cache: ${(e as Error).message}`, {
      file: path,
      hint: "give --stream-cache a writable file path (it takes about the size of the streamed layers)",
    });
  }
  const cached = new SharedArrayBuffer(4 * layers.length);
  const c = new Int32Array(cached);
  const rank: Record<number, number> = {};
  layers.forEach((l, r) => {
    rank[l] = r;
    c[r] = state[r * recordBytes] === 1 ? 1 : 0;
  });
  return { init: { path, dataStart, rank, layerBytes, cached }, fd: fd!, cached: c, state, recordBytes };
}

interface ReaderThread {
  worker: Worker;
  ctrl: Int32Array;
  error: Uint8Array;
}

/** Reader threads (at most the machine's cores). */
const READERS = 2;

class WorkerLayerLoader implements LayerLoader {
  readMs = 0;
  packMs = 0;
  private readonly flags: Int32Array;
  private readonly times: Float64Array;
  private readonly stage: Uint8Array;
  private readonly threads: ReaderThread[] = [];
  private seq = 0;
  /** The layer the workers are reading (or have read) into the staging buffer. */
  private inFlight: number | undefined;
  private closed = false;

  constructor(
    init: Pick<LoaderInit, "paths" | "jobs" | "dot8Types" | "maxBytes">,
    slotBytes: number,
    nFlags: number,
    count: number,
    private readonly cache?: PackedCache,
  ) {
    const flags = new SharedArrayBuffer(4 * Math.max(1, nFlags));
    const times = new SharedArrayBuffer(16 * count);
    const stage = new SharedArrayBuffer(slotBytes);
    this.flags = new Int32Array(flags);
    this.times = new Float64Array(times);
    this.stage = new Uint8Array(stage);
    for (let index = 0; index < count; index++) {
      const ctrl = new SharedArrayBuffer(4 * CTRL.SIZE);
      const error = new SharedArrayBuffer(ERROR_BYTES);
      const data: LoaderInit = {
        ...init,
        index,
        count,
        ctrl,
        flags,
        times,
        stage,
        error,
        slotBytes,
        ...(cache ? { cache: cache.init } : {}),
      };
      const worker = new Worker(new URL("./layer-loader-worker.js", import.meta.url), { workerData: data });
      worker.unref();
      this.threads.push({ worker, ctrl: new Int32Array(ctrl), error: new Uint8Array(error) });
    }
  }

  get aheadMs(): number {
    return this.times.reduce((a, b) => a + b, 0);
  }

  ahead(layer: number): void {
    if (this.inFlight === undefined) this.request(layer);
  }

  load(layer: number, mats: readonly StreamedMatrix[], slot: WeightSlot): PreparedWeight[][] {
    if (!slot.putPacked) throw new ModelError("this kernel set's slots take no packed weights");
    if (this.inFlight !== layer) {
      if (this.inFlight !== undefined) this.wait(); // the staging buffer is being written
      this.request(layer);
    }
    const t0 = performance.now();
    this.wait();
    const t1 = performance.now();
    this.readMs += t1 - t0;
    this.inFlight = undefined;
    for (const th of this.threads)
      if (Atomics.load(th.ctrl, CTRL.STATUS) !== 0) {
        const n = th.error.indexOf(0);
        const msg = new TextDecoder().decode(th.error.slice(0, n < 0 ? th.error.length : n));
        throw new ModelError(`reading layer ${layer} in a reader thread failed: ${msg}`, {
          hint: "the model file must stay in place and unchanged while the model runs",
        });
      }
    const flag = this.flagsOf(layer);
    let k = 0;
    const out = mats.map(({ w, offsets }) => {
      const size = packedBytes(w.type, w.rows, w.cols);
      return offsets.map((off) =>
        slot.putPacked!(off, w.type, this.stage.subarray(off, off + size), w.rows, w.cols, flag(k++)),
      );
    });
    this.packMs += performance.now() - t1;
    return out;
  }

  /**
   * The int8-dot flags of the layer just staged: from the cache's record when it was read from
   * there, else from the workers (and then the layer is marked complete in the cache).
   */
  private flagsOf(layer: number): (k: number) => boolean {
    const c = this.cache;
    if (!c) return (k) => this.flags[k] === 1;
    const r = c.init.rank[layer]!;
    const at = r * c.recordBytes;
    if (Atomics.load(c.cached, r) !== 1) {
      for (let k = 1; k < c.recordBytes; k++) c.state[at + k] = this.flags[k - 1] === 1 ? 1 : 0;
      c.state[at] = 1;
      writeSync(c.fd, c.state, at, c.recordBytes, HEADER + at);
      Atomics.store(c.cached, r, 1);
    }
    return (k) => c.state[at + 1 + k] === 1;
  }

  private request(layer: number): void {
    this.inFlight = layer;
    this.seq++;
    for (const { ctrl } of this.threads) {
      Atomics.store(ctrl, CTRL.LAYER, layer);
      Atomics.store(ctrl, CTRL.REQ, this.seq);
      Atomics.notify(ctrl, CTRL.REQ);
    }
  }

  /** Blocks until every worker has finished the last request. */
  private wait(): void {
    for (const { ctrl } of this.threads)
      for (;;) {
        const done = Atomics.load(ctrl, CTRL.DONE);
        if (done === this.seq) break;
        Atomics.wait(ctrl, CTRL.DONE, done, 1000);
      }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // referenced again so that the process waits for their exit
    const exited = this.threads.map(({ worker }) => {
      worker.ref();
      return new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    });
    this.request(-1);
    this.inFlight = undefined;
    await Promise.all(exited);
    if (this.cache) closeSync(this.cache.fd);
  }
}

export interface NodeLayerLoaderOptions {
  /** Prepared-layout cache file (created or rebuilt as needed): streaming becomes pure reads. */
  packedCache?: string;
}

/** LayerLoaderFactory: reader workers where every streamed tensor is in a local file. */
export function makeNodeLayerLoader(o: NodeLayerLoaderOptions = {}): LayerLoaderFactory {
  return (file: GGUFFile, ks, layers, slotBytes) => {
    const packing = ks.packing?.();
    if (!file.locate || !packing) return new SyncLayerLoader(file);
    const paths: string[] = [];
    const jobs: Record<number, LoaderJob[]> = {};
    const layerBytes: Record<number, number> = {};
    let nFlags = 0;
    let maxBytes = 0;
    for (const [l, mats] of layers) {
      const job: LoaderJob[] = [];
      let flag = 0;
      let end = 0;
      for (const { w, offsets } of mats) {
        const loc = file.locate(w.name);
        if (!loc.filePath) return new SyncLayerLoader(file);
        let part = paths.indexOf(loc.filePath);
        if (part < 0) part = paths.push(loc.filePath) - 1;
        const nBytes = w.nMat * w.rows * w.rowBytes;
        maxBytes = Math.max(maxBytes, nBytes);
        job.push({
          part,
          offset: loc.offset,
          nBytes,
          type: w.type,
          rows: w.rows,
          cols: w.cols,
          offsets,
          flag,
        });
        flag += offsets.length;
        for (const off of offsets) end = Math.max(end, off + packedBytes(w.type, w.rows, w.cols));
      }
      jobs[l] = job;
      layerBytes[l] = end;
      nFlags = Math.max(nFlags, flag);
    }
    let cache: PackedCache | undefined;
    if (o.packedCache) {
      const ids = [...layers.keys()].sort((a, b) => a - b);
      const files = paths.map((p) => {
        const st = statSync(p);
        return [p, st.size, st.mtimeMs];
      });
      const key = hash64(JSON.stringify({ files, dot8: [...packing.dot8Types], slotBytes, jobs, ids }));
      cache = openPackedCache(o.packedCache, key, ids, nFlags, layerBytes);
    }
    // the forward's threads wait while a layer is packed: readers pack its tensors in parallel
    const count = Math.max(1, Math.min(READERS, availableParallelism()));
    return new WorkerLayerLoader(
      { paths, jobs, dot8Types: [...packing.dot8Types], maxBytes },
      slotBytes,
      nFlags,
      count,
      cache,
    );
  };
}

/** The reader workers without a prepared-layout cache. */
export const nodeLayerLoader: LayerLoaderFactory = makeNodeLayerLoader();
