/**
 * Bump allocator of Float32Array views over the shared training memory, growing it on demand.
 * Views made before a grow stay valid (a shared memory grows in place). Allocation is a pure
 * function of the request sequence, so a worker replaying the same sequence from the same base
 * finds its buffers where the main thread expects them.
 */
import { KernelError } from "../../errors.js";
import { MAX_PAGES } from "../../kernels/wasm/arena.js";

const PAGE = 65536;
/** 64-byte alignment: every buffer starts on a cache line. */
const ALIGN = 64;
/** 2 GiB: the most training memory an arena hands out. */
export const TRAIN_MEMORY_LIMIT = 2 ** 31;

export class WasmArena {
  private top: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly base: number,
  ) {
    this.top = base;
  }

  /** Byte offset of the next allocation. */
  get end(): number {
    return this.top;
  }

  alloc = (n: number): Float32Array => {
    // arithmetic, not `& ~(ALIGN - 1)`: bitwise operators wrap offsets past 2 GiB to negative int32s
    const start = Math.ceil(this.top / ALIGN) * ALIGN;
    const end = start + 4 * n;
    // the training kernels take byte offsets as i32 arguments and were never run past 2 GiB
    if (end > TRAIN_MEMORY_LIMIT)
      throw new KernelError(
        `training buffers need ${end} bytes, over the ${TRAIN_MEMORY_LIMIT}-byte training memory limit`,
        { hint: "use a smaller batch (GRPO: --rows), sequence length or model" },
      );
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES)
        throw new KernelError(`training buffers need ${end} bytes, over the 4 GiB WASM memory limit`, {
          hint: "use a smaller batch, sequence length or model",
        });
      this.memory.grow(pages);
    }
    this.top = end;
    return new Float32Array(this.memory.buffer, start, n);
  };
}
