/**
 * Relaxed SIMD on Node 20 without a flag from the user. Node 20's V8 has relaxed SIMD behind
 * `--experimental-wasm-relaxed-simd`; wasm feature flags are read when a module is validated or
 * compiled, so setting them in-process (v8.setFlagsFromString) before the first kernel module is
 * compiled turns the feature on for this process and its worker threads. `--no-liftoff` goes with
 * it: Node 20's baseline compiler (Liftoff) computes `i32x4.relaxed_dot_i8x16_i7x16_add_s`
 * wrongly (it drops the accumulator; checked on v20.20), so WebAssembly is compiled by the
 * optimizing compiler only. Node documents flags set after start-up as unsupported territory, so
 * nothing trusts this switch: the kernels' load-time self-check (src/kernels/wasm/wasm-kernel-set.ts)
 * still decides whether the relaxed build is used, and falls back to SIMD128 if it fails.
 *
 * (An earlier version re-launched the CLI in a child Node with these flags; a wrapper process
 * cannot pass on SIGSTOP/SIGCONT and doubled start-up, so the switch is now in-process.)
 *
 * Skipped when the engine already validates relaxed SIMD (Node >= 22, or the flag was given) or
 * EDGELLM_SIMD=simd128. Node-only (imports node:v8); the CLI calls it first thing, library users
 * call `enableRelaxedSimd()` from `edgellm/node` before loading a model.
 */
import { setFlagsFromString } from "node:v8";

/** V8 flags set in-process on engines without relaxed SIMD by default (Node 20). */
export const RELAXED_NODE_FLAGS = ["--experimental-wasm-relaxed-simd", "--no-liftoff"] as const;

/** (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0)))) */
const RELAXED_PROBE = Uint8Array.from([
  0,
  97,
  115,
  109,
  1,
  0,
  0,
  0,
  1,
  5,
  1,
  96,
  0,
  1,
  123,
  3,
  2,
  1,
  0,
  10,
  61,
  1,
  59,
  0,
  253,
  12,
  ...new Array(16).fill(0),
  253,
  12,
  ...new Array(16).fill(0),
  253,
  12,
  ...new Array(16).fill(0),
  253,
  133,
  2,
  11,
]);

/** Whether this engine validates relaxed-SIMD instructions. */
export function engineHasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/**
 * Turn relaxed SIMD on for this process where the engine has it behind a flag (Node 20). Returns
 * whether the engine now validates relaxed-SIMD modules. Call before the first kernel set is
 * created; the kernels' self-check still has the last word.
 */
export function enableRelaxedSimd(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.EDGELLM_SIMD === "simd128") return false;
  if (engineHasRelaxedSimd()) return true;
  try {
    for (const flag of RELAXED_NODE_FLAGS) setFlagsFromString(flag);
  } catch {
    return false;
  }
  return engineHasRelaxedSimd();
}
