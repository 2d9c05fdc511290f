/**
 * The control block shared by the pool's main thread and its workers (a SharedArrayBuffer
 * separate from the WASM memories), and the work split rule.
 *
 * Int32 slots: GEN (hand-off generation, bumped once per hand-off), DONE (workers finished with
 * the current hand-off), NTASKS, NARGS (Float64 words used), STOP, FAIL (a worker caught an
 * error), SHARD_CMD (set with a GEN bump: leave the task loop to take a new shard memory, see
 * pool.ts addShard). A hand-off carries a batch of NTASKS independent tasks, encoded from byte
 * ARGS_BYTE as Float64 words [fn, units, nargs, shard, ...args] per task (shard: which memory's
 * instance runs it; args: pointers into that memory or floats, passed to the export as-is,
 * followed by a unit range [u0, u1)). Each task is cut into chunks (chunkCount) and the threads
 * take chunks in task order from one counter (NEXT) until none is left, with no barrier in
 * between, so tasks of one batch must not read what another writes (e.g. the Q, K and V products
 * of one input, or the token tiles of one matmul). Dealing chunks instead of fixed shares keeps
 * both cores busy when one is slowed (a shared VM's stolen time, a busy main thread).
 */
export const GEN = 0;
export const DONE = 1;
export const NTASKS = 2;
export const NARGS = 3;
export const STOP = 5;
export const FAIL = 6;
export const SHARD_CMD = 7;
/** Next chunk to take in the current hand-off (Atomics.add by every thread, see dealChunks). */
export const NEXT = 8;
/** Float64 words before a task's arguments: fn, units, nargs, shard. */
export const TASK_HEADER = 4;
export const ARGS_BYTE = 64;
/** Float64 words for a batch (Q/K/V products of a 512-token prefill in 16-token tiles: ~1,100). */
export const MAX_ARGS = 4096;
/** Arguments of one task at most. */
export const MAX_TASK_ARGS = 20;
export const CONTROL_BYTES = ARGS_BYTE + MAX_ARGS * 8;

/** Spin iterations before falling back to Atomics.wait (hand-off ~0.25 us spinning vs 2-11 us). */
export const SPIN = 20000;

/** Chunks per thread a task is cut into: enough to even out a slowed thread, few enough that
 *  each chunk still streams long runs of weight rows. */
export const CHUNKS_PER_THREAD = 4;

/** How many chunks a task of `units` work units is cut into on `threads` threads. */
export function chunkCount(units: number, threads: number): number {
  return Math.max(1, Math.min(units, threads * CHUNKS_PER_THREAD));
}

/**
 * Runs this thread's part of a hand-off: takes chunk indices from the shared NEXT counter and
 * runs each on its task. `task(k)` gives task k's export, arguments and units (called once per
 * task this thread reaches, in order). Chunk c of a task always covers the same units
 * (unitRange(units, chunks, c)) whichever thread takes it, so results do not depend on timing.
 */
export function dealChunks(
  ctl: Int32Array,
  nTasks: number,
  threads: number,
  task: (k: number) => { fn: (...a: number[]) => void; args: number[]; units: number },
): void {
  let k = 0;
  let base = 0;
  let cur = nTasks > 0 ? task(0) : undefined;
  let chunks = cur ? chunkCount(cur.units, threads) : 0;
  for (;;) {
    const i = Atomics.add(ctl, NEXT, 1);
    while (k < nTasks && i >= base + chunks) {
      base += chunks;
      k++;
      if (k < nTasks) {
        cur = task(k);
        chunks = chunkCount(cur.units, threads);
      }
    }
    if (k >= nTasks) return;
    const [u0, u1] = unitRange(cur!.units, chunks, i - base);
    if (u1 > u0) cur!.fn(...cur!.args, u0, u1);
  }
}

/**
 * Contiguous share of `units` for thread t of n. Each output unit is computed by exactly one
 * thread with the same code, so results do not depend on n.
 */
export function unitRange(units: number, n: number, t: number): [number, number] {
  return [Math.floor((units * t) / n), Math.floor((units * (t + 1)) / n)];
}

/** Message a worker receives once, at start. */
export interface WorkerInit {
  module: WebAssembly.Module;
  /** One shared memory per shard (a task's shard word indexes this list, grown by WorkerShard). */
  memories: WebAssembly.Memory[];
  control: SharedArrayBuffer;
  /** Export names, indexed by a task's fn word. */
  exports: string[];
  /** Thread index (1..n-1; the main thread is 0). */
  index: number;
  threads: number;
}

/** Later messages to a worker: one more shard memory to instantiate the kernels on. */
export interface WorkerShard {
  kind: "shard";
  memory: WebAssembly.Memory;
}

/** What a worker posts back: ready once, then only on a fatal error. */
export type WorkerReply = { kind: "ready" } | { kind: "error"; message: string };
