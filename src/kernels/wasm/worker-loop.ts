/**
 * The worker side of the pool, independent of the host (Node worker_threads or Web Workers):
 * instantiate the kernels on the shared memory, then run tasks as the control block announces.
 */
import {
  ARGS_BYTE,
  DONE,
  FAIL,
  FN,
  GEN,
  MAX_ARGS,
  NARGS,
  SPIN,
  STOP,
  UNITS,
  unitRange,
  type WorkerInit,
  type WorkerReply,
} from "./control.js";

type KernelFn = (...args: number[]) => void;

export function runWorker(init: WorkerInit, post: (m: WorkerReply) => void): void {
  let fns: KernelFn[];
  try {
    const inst = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
    fns = init.exports.map((n) => inst.exports[n] as KernelFn);
  } catch (e) {
    post({ kind: "error", message: String(e) });
    return;
  }
  const ctl = new Int32Array(init.control);
  const args = new Float64Array(init.control, ARGS_BYTE, MAX_ARGS);
  // Read the generation BEFORE announcing ready: a task posted right after would otherwise be
  // missed (its bump could happen between "ready" and our first read).
  let seen = Atomics.load(ctl, GEN);
  post({ kind: "ready" });
  const a: number[] = [];
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctl, GEN) === seen) {
      if (++spins > SPIN) Atomics.wait(ctl, GEN, seen);
    }
    seen = Atomics.load(ctl, GEN);
    if (Atomics.load(ctl, STOP) !== 0) return;
    try {
      const n = ctl[NARGS]!;
      a.length = 0;
      for (let i = 0; i < n; i++) a.push(args[i]!);
      const [u0, u1] = unitRange(ctl[UNITS]!, init.threads, init.index);
      if (u1 > u0) fns[ctl[FN]!]!(...a, u0, u1);
    } catch {
      Atomics.store(ctl, FAIL, 1);
    }
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}
