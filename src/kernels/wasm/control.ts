/**
 * The control block shared by the pool's main thread and its workers (a SharedArrayBuffer
 * separate from the WASM memories), and the work split rule.
 *
 * Int32 slots: GEN (hand-off generation, bumped once per hand-off), DONE (workers finished with
 * the current hand-off), NTASKS, NARGS (Float64 words used), STOP, FAIL (a worker caught an
 * error), SHARD_CMD (set with a GEN bump: leave the task loop to take a new shard memory, see
 * pool.ts addShard). A hand-off carries a batch of NTASKS tasks, encoded from byte ARGS_BYTE as
 * Float64 words [fn, units, nargs, shard, pre, nafter, ...args, (fn, nargs, ...args) x nafter] per
 * task (shard: which memory's instance runs it; args: pointers into that memory or floats, passed
 * to the export as-is, followed by a unit range [u0, u1)). Each task is cut into chunks
 * (chunkCount) and the threads take chunks in task order from one counter (NEXT) until none is
 * left, with no barrier in between, so tasks of one batch must not read what another writes
 * (e.g. the Q, K and V products of one input, or the token tiles of one matmul). Dealing chunks
 * instead of fixed shares keeps both cores busy when one is slowed (a shared VM's stolen time, a
 * busy main thread).
 *
 * One dependency is allowed inside a batch, for small products whose result others consume (a
 * LoRA's A x before its B product): tasks marked `pre` come first, in chunks of PRE_UNITS units
 * (preChunks); every chunk of them, once run, is counted in PRE_DONE. A task's `after` exports run on the same unit range right after
 * each of its chunks (e.g. add B (A x) into the rows that chunk just wrote); for a task that is
 * not `pre`, they first wait (spinning) until every pre chunk of the batch is done. The pre
 * chunks were all taken before (chunks are dealt in task order) by threads that are running
 * them, so the wait is short and cannot deadlock.
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
/** Chunks of `pre` tasks finished in the current hand-off (see above). */
export const PRE_DONE = 9;
/** Float64 words before a task's arguments: fn, units, nargs, shard, pre, nafter. */
export const TASK_HEADER = 6;
/** Float64 words before a `after` export's arguments: fn, nargs. */
export const AFTER_HEADER = 2;
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

type Fn = (...a: number[]) => void;

/** A task as dealChunks runs it (decoded from the control block, or the main thread's own). */
export interface DealtTask {
  fn: Fn;
  args: number[];
  units: number;
  /** Counted in PRE_DONE; must precede every task that is not. */
  pre?: boolean;
  /** Run after each chunk on its unit range (after the pre tasks, for a task that is not pre). */
  after?: readonly { fn: Fn; args: number[] }[];
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
  task: (k: number) => DealtTask,
): void {
  let k = 0;
  let base = 0;
  let cur = nTasks > 0 ? task(0) : undefined;
  let chunks = cur ? taskChunks(cur, threads) : 0;
  /** Chunks of the pre tasks up to the current one (all of them once past the first non-pre). */
  let preChunks = cur?.pre ? chunks : 0;
  for (;;) {
    const i = Atomics.add(ctl, NEXT, 1);
    while (k < nTasks && i >= base + chunks) {
      base += chunks;
      k++;
      if (k < nTasks) {
        cur = task(k);
        chunks = taskChunks(cur, threads);
        if (cur.pre) preChunks += chunks;
      }
    }
    if (k >= nTasks) return;
    const t = cur!;
    const [u0, u1] = unitRange(t.units, chunks, i - base);
    if (u1 > u0) {
      t.fn(...t.args, u0, u1);
      if (t.after) {
        if (!t.pre) waitPre(ctl, preChunks);
        for (const e of t.after) e.fn(...e.args, u0, u1);
      }
    }
    if (t.pre) Atomics.add(ctl, PRE_DONE, 1);
  }
}

/**
 * Work units per chunk of a pre task. A LoRA A x (rank 16: four 4-row groups of a few thousand
 * columns, read from memory once per token) is small, but one thread running it whole put all of
 * its memory reads on the batch's critical path while the other thread streamed the base
 * weights: at two threads the adapter cost about as much time as at one. Chunks of two groups
 * spread it over the threads (the F16 kernel runs two groups side by side: four accumulator
 * chains).
 */
export const PRE_UNITS = 2;

/** Chunks a pre task of `units` units is cut into (whatever the thread count). */
export function preChunks(units: number): number {
  return Math.max(1, Math.ceil(units / PRE_UNITS));
}

/** Chunks a dealt task is cut into. */
function taskChunks(t: DealtTask, threads: number): number {
  return t.pre ? preChunks(t.units) : chunkCount(t.units, threads);
}

/** Spins until `n` pre chunks are done; throws when a thread reported a failure meanwhile. */
function waitPre(ctl: Int32Array, n: number): void {
  let spins = 0;
  while (Atomics.load(ctl, PRE_DONE) < n)
    if ((++spins & 1023) === 0 && Atomics.load(ctl, FAIL) !== 0)
      throw new Error("a pre task of the batch failed on another thread");
}

/** Runs tasks whole, in order, on the calling thread (one thread: what dealChunks computes). */
export function runTasksHere(tasks: readonly DealtTask[]): void {
  for (const t of tasks) {
    t.fn(...t.args, 0, t.units);
    if (t.after) for (const e of t.after) e.fn(...e.args, 0, t.units);
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
