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
 */
import { availableParallelism } from "node:os";
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
import { CTRL, ERROR_BYTES, type LoaderJob, type LoaderInit } from "./layer-loader-protocol.js";

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
      const data: LoaderInit = { ...init, index, count, ctrl, flags, times, stage, error };
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
    let k = 0;
    const out = mats.map(({ w, offsets }) => {
      const size = packedBytes(w.type, w.rows, w.cols);
      return offsets.map((off) =>
        slot.putPacked!(
          off,
          w.type,
          this.stage.subarray(off, off + size),
          w.rows,
          w.cols,
          this.flags[k++] === 1,
        ),
      );
    });
    this.packMs += performance.now() - t1;
    return out;
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
  }
}

/** LayerLoaderFactory: a reader worker where every streamed tensor is in a local file. */
export const nodeLayerLoader: LayerLoaderFactory = (file: GGUFFile, ks, layers, slotBytes) => {
  const packing = ks.packing?.();
  if (!file.locate || !packing) return new SyncLayerLoader(file);
  const paths: string[] = [];
  const jobs: Record<number, LoaderJob[]> = {};
  let nFlags = 0;
  let maxBytes = 0;
  for (const [l, mats] of layers) {
    const job: LoaderJob[] = [];
    let flag = 0;
    for (const { w, offsets } of mats) {
      const loc = file.locate(w.name);
      if (!loc.filePath) return new SyncLayerLoader(file);
      let part = paths.indexOf(loc.filePath);
      if (part < 0) part = paths.push(loc.filePath) - 1;
      const nBytes = w.nMat * w.rows * w.rowBytes;
      maxBytes = Math.max(maxBytes, nBytes);
      job.push({ part, offset: loc.offset, nBytes, type: w.type, rows: w.rows, cols: w.cols, offsets, flag });
      flag += offsets.length;
    }
    jobs[l] = job;
    nFlags = Math.max(nFlags, flag);
  }
  // the forward's threads wait while a layer is packed: readers pack its tensors in parallel
  const count = Math.max(1, Math.min(READERS, availableParallelism()));
  return new WorkerLayerLoader(
    { paths, jobs, dot8Types: [...packing.dot8Types], maxBytes },
    slotBytes,
    nFlags,
    count,
  );
};
