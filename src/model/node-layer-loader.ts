/**
 * Node: streamed layers (layer-stream.ts) read and packed ahead in a worker thread. The worker opens
 * the model's file(s) itself, reads the next layer's tensors with positional reads and packs them
 * (kernels/wasm/repack.ts packInto, the set's own int8-dot choice) into a SharedArrayBuffer laid
 * out as a slot; when the forward pass reaches that layer it waits only if the worker is behind,
 * then copies the packed bytes into the slot (WeightSlot.putPacked). One staging buffer: the worker
 * starts the following layer once this one is copied out. Sources without a local file path, or
 * sets without putPacked, fall back to SyncLayerLoader. Node-only (worker_threads, node:fs in the
 * worker); load it with nodeImport from isomorphic code.
 */
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

class WorkerLayerLoader implements LayerLoader {
  readMs = 0;
  packMs = 0;
  private readonly ctrl: Int32Array;
  private readonly times: Float64Array;
  private readonly stage: Uint8Array;
  private readonly error: Uint8Array;
  private readonly worker: Worker;
  private seq = 0;
  /** The layer the worker is reading (or has read) into the staging buffer. */
  private inFlight: number | undefined;
  private closed = false;

  constructor(
    init: Omit<LoaderInit, "ctrl" | "times" | "stage" | "error">,
    slotBytes: number,
    nFlags: number,
  ) {
    const ctrl = new SharedArrayBuffer(4 * (CTRL.FLAGS + nFlags));
    const times = new SharedArrayBuffer(16);
    const stage = new SharedArrayBuffer(slotBytes);
    const error = new SharedArrayBuffer(ERROR_BYTES);
    this.ctrl = new Int32Array(ctrl);
    this.times = new Float64Array(times);
    this.stage = new Uint8Array(stage);
    this.error = new Uint8Array(error);
    const data: LoaderInit = { ...init, ctrl, times, stage, error };
    this.worker = new Worker(new URL("./layer-loader-worker.js", import.meta.url), { workerData: data });
    this.worker.unref();
  }

  get aheadMs(): number {
    return this.times[0]! + this.times[1]!;
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
    if (Atomics.load(this.ctrl, CTRL.STATUS) !== 0) {
      const n = this.error.indexOf(0);
      const msg = new TextDecoder().decode(this.error.slice(0, n < 0 ? this.error.length : n));
      throw new ModelError(`reading layer ${layer} in the reader thread failed: ${msg}`, {
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
          this.ctrl[CTRL.FLAGS + k++] === 1,
        ),
      );
    });
    this.packMs += performance.now() - t1;
    return out;
  }

  private request(layer: number): void {
    this.inFlight = layer;
    this.seq++;
    Atomics.store(this.ctrl, CTRL.LAYER, layer);
    Atomics.store(this.ctrl, CTRL.REQ, this.seq);
    Atomics.notify(this.ctrl, CTRL.REQ);
  }

  /** Blocks until the worker has finished the last request. */
  private wait(): void {
    for (;;) {
      const done = Atomics.load(this.ctrl, CTRL.DONE);
      if (done === this.seq) return;
      Atomics.wait(this.ctrl, CTRL.DONE, done, 1000);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.inFlight = undefined;
    this.seq++;
    Atomics.store(this.ctrl, CTRL.LAYER, -1);
    Atomics.store(this.ctrl, CTRL.REQ, this.seq);
    Atomics.notify(this.ctrl, CTRL.REQ);
    await exited;
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
    for (const { w, offsets } of mats) {
      const loc = file.locate(w.name);
      if (!loc.filePath) return new SyncLayerLoader(file);
      let part = paths.indexOf(loc.filePath);
      if (part < 0) part = paths.push(loc.filePath) - 1;
      const nBytes = w.nMat * w.rows * w.rowBytes;
      maxBytes = Math.max(maxBytes, nBytes);
      job.push({ part, offset: loc.offset, nBytes, type: w.type, rows: w.rows, cols: w.cols, offsets });
    }
    jobs[l] = job;
    nFlags = Math.max(
      nFlags,
      job.reduce((a, j) => a + j.offsets.length, 0),
    );
  }
  return new WorkerLayerLoader(
    { paths, jobs, dot8Types: [...packing.dot8Types], maxBytes },
    slotBytes,
    nFlags,
  );
};
