/**
 * The worker side of the pool, independent of the host (Node worker_threads or Web Workers):
 * instantiate the kernels once per shard memory, then run tasks as the control block announces,
 * each on the instance of the shard it names. A new shard (pool.ts addShard) arrives as a
 * message: the main thread posts it, then raises SHARD_CMD with a GEN bump; the loop returns to
 * the host's event loop, which delivers the message; the handler instantiates, counts itself
 * DONE and re-enters the loop.
 */
import {
  ARGS_BYTE,
  DONE,
  FAIL,
  GEN,
  MAX_ARGS,
  NTASKS,
  SHARD_CMD,
  SPIN,
  STOP,
  TASK_HEADER,
  AFTER_HEADER,
  dealChunks,
  type DealtTask,
  type WorkerInit,
  type WorkerReply,
  type WorkerShard,
} from "./control.js";

type KernelFn = (...args: number[]) => void;

/**
 * Runs the worker: `listen` registers the handler of the host's later messages (WorkerShard)
 * before the task loop starts.
 */
export function runWorker(
  init: WorkerInit,
  post: (m: WorkerReply) => void,
  listen: (handler: (m: WorkerShard) => void) => void,
): void {
  const shards: KernelFn[][] = [];
  const instantiate = (memory: WebAssembly.Memory) => {
    const inst = new WebAssembly.Instance(init.module, { env: { memory } });
    shards.push(init.exports.map((n) => inst.exports[n] as KernelFn));
  };
  const ctl = new Int32Array(init.control);
  const args = new Float64Array(init.control, ARGS_BYTE, MAX_ARGS);
  try {
    for (const m of init.memories) instantiate(m);
  } catch (e) {
    post({ kind: "error", message: String(e) });
    return;
  }
  // Read the generation BEFORE announcing ready: a task posted right after would otherwise be
  // missed (its bump could happen between "ready" and our first read).
  let seen = Atomics.load(ctl, GEN);
  post({ kind: "ready" });
  const a: number[] = [];
  /** Runs hand-offs until STOP (returns false) or a shard command (returns true). */
  const loop = (): boolean => {
    for (;;) {
      let spins = 0;
      while (Atomics.load(ctl, GEN) === seen) {
        if (++spins > SPIN) Atomics.wait(ctl, GEN, seen);
      }
      seen = Atomics.load(ctl, GEN);
      if (Atomics.load(ctl, STOP) !== 0) return false;
      if (Atomics.load(ctl, SHARD_CMD) !== 0) return true;
      try {
        // Tasks are reached in order: decode each one's words as the chunk counter gets to it.
        let o = 0;
        dealChunks(ctl, ctl[NTASKS]!, init.threads, () => {
          const fn = args[o]!,
            units = args[o + 1]!,
            n = args[o + 2]!,
            shard = args[o + 3]!,
            pre = args[o + 4]! !== 0,
            nAfter = args[o + 5]!;
          const fns = shards[shard]!;
          a.length = 0;
          for (let i = 0; i < n; i++) a.push(args[o + TASK_HEADER + i]!);
          o += TASK_HEADER + n;
          const t: DealtTask = { fn: fns[fn]!, args: a, units, pre };
          if (nAfter > 0) {
            const after: { fn: KernelFn; args: number[] }[] = [];
            for (let e = 0; e < nAfter; e++) {
              const m = args[o + 1]!;
              after.push({
                fn: fns[args[o]!]!,
                args: Array.from(args.subarray(o + AFTER_HEADER, o + AFTER_HEADER + m)),
              });
              o += AFTER_HEADER + m;
            }
            t.after = after;
          }
          return t;
        });
      } catch {
        Atomics.store(ctl, FAIL, 1);
      }
      Atomics.add(ctl, DONE, 1);
      Atomics.notify(ctl, DONE);
    }
  };
  listen((m: WorkerShard) => {
    if (m.kind !== "shard") return;
    try {
      instantiate(m.memory);
    } catch {
      Atomics.store(ctl, FAIL, 1);
    }
    // `seen` is current: the main thread posts nothing until every worker is DONE here.
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
    loop();
  });
  loop();
}
