/**
 * The shared WebAssembly.Memory every kernel instance (main thread and workers) imports, and a
 * bump allocator over it. Layout: page 0 is left to the module (AssemblyScript statics, none
 * today); weights, activations and scratch follow, 64-byte aligned. Memory only grows; nothing
 * is freed before the KernelSet is disposed (weights live as long as the model).
 *
 * Views stay valid across growth: a grown shared memory keeps its backing store, only new
 * SharedArrayBuffer objects (of the new length) are handed out, so every buffer object a view was
 * made on is remembered to recognise views that already live in this memory. V8 also hands out a
 * new buffer object for a shared memory that did NOT grow when another shared memory of the
 * isolate grows (another shard, or another kernel set): so the buffer is recorded whenever a view
 * is made (f32/u8), not only after our own grow, and offsetOf also accepts the current buffer.
 * (Missing that, views made after a neighbour's growth looked foreign: kernels copied them or
 * fell back to TypeScript attention, whose bits differ: sharded runs were not bit-identical.)
 */
import { KernelError } from "../../errors.js";

/** Must equal --maximumMemory in kernels-src/build.mjs (64 KiB pages; 4 GiB = wasm32 limit). */
export const MAX_PAGES = 65536;
const PAGE = 65536;
/** Bytes one memory (one shard of a kernel set) can hold: the wasm32 limit. */
export const SHARD_MEMORY_LIMIT = MAX_PAGES * PAGE;
/** Room a placement keeps in every shard memory for activations, activation scratch and buffers. */
export const SHARD_WORKING_ROOM = 256 * 1024 * 1024;

export class WasmArena {
  readonly memory: WebAssembly.Memory;
  private top = PAGE;
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  constructor(initialPages = 16) {
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
    this.buffers.add(this.memory.buffer);
  }

  /** Reserves `bytes` (64-byte aligned) and returns its byte offset. Zeroed (fresh memory). */
  alloc(bytes: number): number {
    if (!Number.isFinite(bytes) || bytes < 0) throw new KernelError(`bad allocation size ${bytes}`);
    const ptr = this.top;
    const end = ptr + Math.ceil(bytes / 64) * 64;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      const cur = have / PAGE;
      if (cur + pages > MAX_PAGES) {
        throw new KernelError(
          `WASM memory exhausted: need ${end} bytes, the wasm32 limit is ${MAX_PAGES * PAGE}`,
          {
            hint: "use a smaller model or quantization",
          },
        );
      }
      // Grow by at least 1/8 of the current size to keep the number of grows small.
      this.memory.grow(Math.min(MAX_PAGES - cur, Math.max(pages, Math.ceil(cur / 8))));
      this.buffers.add(this.memory.buffer);
    }
    this.top = end;
    return ptr;
  }

  get used(): number {
    return this.top;
  }

  /** Releases everything allocated after `mark` (a past `used` value), zeroing it again so later
   *  allocations are still fresh-zeroed. For short-lived scratch at startup only. */
  reset(mark: number): void {
    if (!(mark >= PAGE && mark <= this.top)) throw new KernelError(`bad arena mark ${mark}`);
    new Uint8Array(this.memory.buffer, mark, this.top - mark).fill(0);
    this.top = mark;
  }

  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.buffer(), ptr, n);
  }

  u8(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.buffer(), ptr, n);
  }

  /** The memory's current buffer object, remembered (see the file comment). */
  private buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    this.buffers.add(b);
    return b;
  }

  /** Byte offset of a view that lives in this memory, or -1. */
  offsetOf(v: ArrayBufferView): number {
    if (this.buffers.has(v.buffer)) return v.byteOffset;
    if (v.buffer !== this.memory.buffer) return -1;
    this.buffers.add(v.buffer);
    return v.byteOffset;
  }
}
