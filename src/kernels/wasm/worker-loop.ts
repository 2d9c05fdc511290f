/**
 * The worker side of the pool, independent of the host (Node worker_threads or Web Workers):
 * instantiate the kernels on the shared memory, then run tasks as the control block announces.
 */
import {
  ARGS_BYTE,
  DONE,
  FAIL,
  GEN,
  MAX_ARGS,
  NTASKS,
  SPIN,
  STOP,
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
      const nt = ctl[NTASKS]!;
      let o = 0;
      for (let k = 0; k < nt; k++) {
        const fn = args[o]!,
          units = args[o + 1]!,
          n = args[o + 2]!;
        a.length = 0;
        for (let i = 0; i < n; i++) a.push(args[o + 3 + i]!);
        o += 3 + n;
        const [u0, u1] = unitRange(units, init.threads, init.index);
        if (u1 > u0) fns[fn]!(...a, u0, u1);
      }
    } catch {
      Atomics.store(ctl, FAIL, 1);
    }
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}
