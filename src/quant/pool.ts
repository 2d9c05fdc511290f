/**
 * Quantization on worker threads: rows are independent in every ggml block format, so a tensor is
 * cut into contiguous row ranges, each worker quantizes one range with the same reference code,
 * and the byte ranges are concatenated — the result is byte-identical to `quantizeRows`.
 * Node only (worker_threads); used by `edgellm quantize` and the test-model factory CLI.
 */
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import { type GGMLType, ggmlRowBytes } from "../gguf/types.js";
import { quantizeRows } from "./index.js";

interface Job {
  id: number;
  type: GGMLType;
  src: Float32Array;
  nPerRow: number;
}

/** Below this many input values a tensor is quantized on the calling thread (worker hand-off costs more). */
const MIN_PARALLEL = 1 << 16;

export class QuantizePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;

  constructor(readonly threads = availableParallelism()) {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(new URL("./pool-worker.js", import.meta.url));
      w.on("message", (m: { id: number; bytes?: Uint8Array; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.bytes) p.resolve(m.bytes);
        else p.reject(new Error(m.error ?? "quantize worker failed"));
      });
      w.on("error", (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(w);
    }
  }

  /** Same contract and bytes as `quantizeRows(type, src, nPerRow)`. */
  async quantize(type: GGMLType, src: Float32Array, nPerRow: number): Promise<Uint8Array> {
    const nRows = Math.floor(src.length / nPerRow);
    if (this.threads <= 1 || src.length < MIN_PARALLEL || nRows < 2 || nRows * nPerRow !== src.length) {
      return quantizeRows(type, src, nPerRow);
    }
    const rowBytes = ggmlRowBytes(type, nPerRow);
    const parts = Math.min(this.threads, nRows);
    const per = Math.ceil(nRows / parts);
    const jobs: Promise<Uint8Array>[] = [];
    for (let p = 0, r0 = 0; r0 < nRows; p++, r0 += per) {
      const r1 = Math.min(nRows, r0 + per);
      jobs.push(this.run(p, { id: 0, type, src: src.slice(r0 * nPerRow, r1 * nPerRow), nPerRow }));
    }
    const chunks = await Promise.all(jobs);
    const out = new Uint8Array(nRows * rowBytes);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  private run(worker: number, job: Job): Promise<Uint8Array> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[worker % this.workers.length]!.postMessage({ ...job, id }, [
        job.src.buffer as ArrayBuffer,
      ]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
