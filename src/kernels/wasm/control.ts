/**
 * The control block shared by the pool's main thread and its workers (a 256-byte
 * SharedArrayBuffer, separate from the WASM memory), and the work split rule.
 *
 * Int32 slots: GEN (task generation, bumped once per task), DONE (workers finished with the
 * current task), FN (export index), NARGS, UNITS (work units: 4-row groups, heads, ...), STOP,
 * FAIL (a worker caught an error). Float64 args live at byte ARGS_BYTE (numbers: pointers or
 * floats, passed to the export as-is, followed by the thread's unit range [u0, u1)).
 */
export const GEN = 0;
export const DONE = 1;
export const FN = 2;
export const NARGS = 3;
export const UNITS = 4;
export const STOP = 5;
export const FAIL = 6;
export const ARGS_BYTE = 64;
export const MAX_ARGS = 20;
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
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** Export names, indexed by the FN slot. */
  exports: string[];
  /** Thread index (1..n-1; the main thread is 0). */
  index: number;
  threads: number;
}

/** What a worker posts back: ready once, then only on a fatal error. */
export type WorkerReply = { kind: "ready" } | { kind: "error"; message: string };
