/**
 * Thread pool: the main thread (thread 0) plus threads-1 workers, all running the same kernel
 * module, instantiated once per shard memory (shared WebAssembly.Memory objects; one wasm32
 * memory holds at most 4 GiB, so a model's weights may span several). A task is a shard, an
 * export index, its arguments and a count of work units, cut into chunks that the threads take
 * from a shared counter (control.ts dealChunks). One pool serves every shard: a shard whose layers are not running
 * costs no thread (two pools would leave one pool's workers spinning while the other computes).
 * Hand-off through the control block (control.ts): spin briefly, then Atomics.wait.
 * Host-specific worker creation is injected (host-node.ts, host-web.ts), so this file runs
 * unchanged in Node and browsers.
 */
import { KernelError } from "../../errors.js";
import {
  ARGS_BYTE,
  CONTROL_BYTES,
  DONE,
  FAIL,
  GEN,
  MAX_ARGS,
  MAX_TASK_ARGS,
  NARGS,
  NEXT,
  NTASKS,
  SPIN,
  SHARD_CMD,
  STOP,
  TASK_HEADER,
  AFTER_HEADER,
  PRE_DONE,
  dealChunks,
  runTasksHere,
  type DealtTask,
  type WorkerInit,
  type WorkerReply,
  type WorkerShard,
} from "./control.js";

export interface WorkerHandle {
  onReply(cb: (m: WorkerReply) => void): void;
  /** Sends a later message (a new shard memory). */
  post(m: WorkerShard): void;
  terminate(): unknown;
}
export type SpawnWorker = (init: WorkerInit) => WorkerHandle;

type KernelFn = (...args: number[]) => void;

/** One task of a batch: export index, arguments (before the unit range), work units (the
 *  batch's shard is given to runBatch); `pre` and `after` as control.ts describes (a dependency
 *  inside one hand-off: pre tasks first, then exports run after each chunk of a task). */
export interface PoolTask {
  fn: number;
  args: number[];
  units: number;
  pre?: boolean;
  after?: readonly { fn: number; args: number[] }[];
}

/** Float64 words a task takes in the control block. */
function taskWords(t: PoolTask): number {
  let w = TASK_HEADER + t.args.length;
  if (t.after) for (const e of t.after) w += AFTER_HEADER + e.args.length;
  return w;
}

/** The task with its export indices resolved to `fns`. */
function dealt(t: PoolTask, fns: KernelFn[]): DealtTask {
  return {
    fn: fns[t.fn]!,
    args: t.args,
    units: t.units,
    pre: t.pre,
    after: t.after?.map((e) => ({ fn: fns[e.fn]!, args: e.args })),
  };
}

/** A worker that has not finished its share after this long is treated as lost. */
const TASK_TIMEOUT_MS = 120_000;

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private disposed = false;
  /** One thread: runBatch's resolved tasks of `fixed` batches (arrays that never change). */
  private readonly dealtHere = new WeakMap<readonly PoolTask[], { shard: number; tasks: DealtTask[] }>();
  /** Main-thread kernel functions per shard. */
  private readonly fns: KernelFn[][];

  private constructor(
    readonly threads: number,
    mainFns: KernelFn[],
    private readonly workers: WorkerHandle[],
    control: SharedArrayBuffer,
    private readonly canBlock: boolean,
  ) {
    this.ctl = new Int32Array(control);
    this.args = new Float64Array(control, ARGS_BYTE, MAX_ARGS);
    this.fns = [mainFns];
  }

  /** Shard memories the pool serves (tasks name one by index). */
  get shards(): number {
    return this.fns.length;
  }

  static async create(
    threads: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    exportNames: string[],
    mainFns: KernelFn[],
    spawn: SpawnWorker | undefined,
  ): Promise<ThreadPool> {
    if (!Number.isInteger(threads) || threads < 1)
      throw new KernelError(`thread count must be >= 1, got ${threads}`);
    // One thread needs no sharing (and a page without cross-origin isolation has no SharedArrayBuffer).
    const control = (
      threads > 1 ? new SharedArrayBuffer(CONTROL_BYTES) : new ArrayBuffer(CONTROL_BYTES)
    ) as SharedArrayBuffer;
    const workers: WorkerHandle[] = [];
    if (threads > 1) {
      if (!spawn) throw new KernelError("no worker host available for a multi-thread pool");
      const ready: Promise<void>[] = [];
      for (let i = 1; i < threads; i++) {
        const w = spawn({ module, memories: [memory], control, exports: exportNames, index: i, threads });
        workers.push(w);
        ready.push(
          new Promise<void>((resolve, reject) =>
            w.onReply((m) => {
              if (m.kind === "ready") resolve();
              else reject(new KernelError(`kernel worker ${i} failed: ${m.message}`));
            }),
          ),
        );
      }
      try {
        await Promise.all(ready);
      } catch (e) {
        for (const w of workers) w.terminate();
        throw e;
      }
    }
    return new ThreadPool(threads, mainFns, workers, control, canAtomicsWait());
  }

  /**
   * Adds a shard: every thread instantiates the module on `memory` (the main thread's functions
   * are `mainFns`); returns its index. Synchronous: the workers leave their task loop (SHARD_CMD),
   * take the memory from a message, and come back; the caller blocks (spins in a browser's main
   * thread) until all have. Called while loading, between tasks.
   */
  addShard(memory: WebAssembly.Memory, mainFns: KernelFn[]): number {
    if (this.disposed) throw new KernelError("thread pool used after dispose()");
    const n = this.threads;
    if (n > 1) {
      const ctl = this.ctl;
      for (const w of this.workers) w.post({ kind: "shard", memory });
      Atomics.store(ctl, FAIL, 0);
      Atomics.store(ctl, DONE, 0);
      Atomics.store(ctl, SHARD_CMD, 1);
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
      try {
        this.waitWorkers(n - 1);
      } finally {
        Atomics.store(ctl, SHARD_CMD, 0);
      }
      if (Atomics.load(ctl, FAIL) !== 0)
        throw new KernelError("a kernel worker could not instantiate the kernels on a new shard memory");
    }
    this.fns.push(mainFns);
    return this.fns.length - 1;
  }

  /** Runs export `fn` of shard `shard` with `args` over `units` work units on all threads; returns when done. */
  run(fn: number, args: number[], units: number, shard = 0): void {
    if (this.threads === 1 || units < 2) {
      if (this.disposed) throw new KernelError("thread pool used after dispose()");
      this.fns[shard]![fn]!(...args, 0, units);
      return;
    }
    this.runBatch([{ fn, args, units }], shard);
  }

  /**
   * Runs independent tasks in one hand-off (one barrier): the threads take the tasks' chunks in
   * order from a shared counter. Tasks must not read another task's output (see control.ts),
   * except that `after` exports of a task may read what the `pre` tasks (all first) wrote.
   * Large batches are split into several hand-offs (in order, so pre tasks still run first).
   * `fixed`: the caller never changes this array or its tasks (a product plan's), so on one
   * thread their resolved form is made once.
   */
  runBatch(tasks: readonly PoolTask[], shard = 0, fixed = false): void {
    if (this.disposed) throw new KernelError("thread pool used after dispose()");
    const n = this.threads;
    const fns = this.fns[shard];
    if (!fns) throw new KernelError(`no shard ${shard} in the thread pool`);
    let seenMain = false;
    for (const t of tasks) {
      if (t.args.length > MAX_TASK_ARGS || t.after?.some((e) => e.args.length > MAX_TASK_ARGS))
        throw new KernelError(`too many kernel arguments (${t.args.length})`);
      if (t.pre && seenMain) throw new KernelError("a pre task after a task that is not pre");
      if (!t.pre) seenMain = true;
    }
    if (n === 1) {
      let d = fixed ? this.dealtHere.get(tasks) : undefined;
      if (!d || d.shard !== shard) {
        d = { shard, tasks: tasks.map((t) => dealt(t, fns)) };
        if (fixed) this.dealtHere.set(tasks, d);
      }
      runTasksHere(d.tasks);
      return;
    }
    let i = 0;
    while (i < tasks.length) {
      let words = 0;
      let j = i;
      while (j < tasks.length && words + taskWords(tasks[j]!) <= MAX_ARGS) {
        words += taskWords(tasks[j]!);
        j++;
      }
      if (j === i) throw new KernelError(`too many kernel arguments (${taskWords(tasks[i]!)} words)`);
      this.handOff(tasks, i, j, shard);
      i = j;
    }
  }

  private handOff(tasks: readonly PoolTask[], from: number, to: number, shard: number): void {
    const n = this.threads;
    const ctl = this.ctl;
    const A = this.args;
    const fns = this.fns[shard]!;
    let o = 0;
    for (let k = from; k < to; k++) {
      const t = tasks[k]!;
      A[o] = t.fn;
      A[o + 1] = t.units;
      A[o + 2] = t.args.length;
      A[o + 3] = shard;
      A[o + 4] = t.pre ? 1 : 0;
      A[o + 5] = t.after?.length ?? 0;
      for (let q = 0; q < t.args.length; q++) A[o + TASK_HEADER + q] = t.args[q]!;
      o += TASK_HEADER + t.args.length;
      if (t.after)
        for (const e of t.after) {
          A[o] = e.fn;
          A[o + 1] = e.args.length;
          for (let q = 0; q < e.args.length; q++) A[o + AFTER_HEADER + q] = e.args[q]!;
          o += AFTER_HEADER + e.args.length;
        }
    }
    ctl[NTASKS] = to - from;
    ctl[NARGS] = o;
    Atomics.store(ctl, NEXT, 0);
    Atomics.store(ctl, PRE_DONE, 0);
    Atomics.store(ctl, FAIL, 0);
    Atomics.store(ctl, DONE, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    let own: unknown;
    try {
      dealChunks(ctl, to - from, n, (k) => dealt(tasks[from + k]!, fns));
    } catch (e) {
      own = e;
      Atomics.store(ctl, FAIL, 1); // a worker waiting on this thread's pre chunks gives up
    }
    this.waitWorkers(n - 1);
    if (own !== undefined) throw new KernelError(`kernel failed on the main thread: ${String(own)}`);
    if (Atomics.load(ctl, FAIL) !== 0) throw new KernelError("kernel failed on a worker thread");
  }

  private waitWorkers(expect: number): void {
    const ctl = this.ctl;
    let spins = 0;
    let t0 = 0;
    for (;;) {
      const d = Atomics.load(ctl, DONE);
      if (d >= expect) return;
      if (++spins < SPIN) continue;
      if (t0 === 0) t0 = Date.now();
      else if (Date.now() - t0 > TASK_TIMEOUT_MS) throw new KernelError("kernel workers stopped responding");
      if (this.canBlock) Atomics.wait(ctl, DONE, d, 100);
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Atomics.wait throws on a browser's main thread; there the pool spins instead. */
function canAtomicsWait(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pool as one shard's kernel set sees it: its tasks run on that shard's instances. */
export class PoolShard {
  constructor(
    readonly pool: ThreadPool,
    readonly shard: number,
  ) {}
  get threads(): number {
    return this.pool.threads;
  }
  run(fn: number, args: number[], units: number): void {
    this.pool.run(fn, args, units, this.shard);
  }
  /** `fixed`: the array and its tasks never change (a product plan's): resolved once. */
  runBatch(tasks: readonly PoolTask[], fixed = false): void {
    this.pool.runBatch(tasks, this.shard, fixed);
  }
  /** Stops the whole pool (every shard's). */
  dispose(): Promise<void> {
    return this.pool.dispose();
  }
}
