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
 * followed by the thread's unit range [u0, u1)). Each thread runs its share of every task in
 * order with no barrier in between, so tasks of one batch must not read what another writes
 * (e.g. the Q, K and V products of one input, or the token tiles of one matmul).
 */
export const GEN = 0;
export const DONE = 1;
export const NTASKS = 2;
export const NARGS = 3;
export const STOP = 5;
export const FAIL = 6;
export const SHARD_CMD = 7;
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
