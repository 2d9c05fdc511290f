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
  dealChunks,
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
            shard = args[o + 3]!;
          a.length = 0;
          for (let i = 0; i < n; i++) a.push(args[o + TASK_HEADER + i]!);
          o += TASK_HEADER + n;
          return { fn: shards[shard]![fn]!, args: a, units };
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
