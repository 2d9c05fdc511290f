/**
 * Relaxed SIMD on Node 20 without a flag from the user: the CLI re-launches itself in a child
 * Node with `--experimental-wasm-relaxed-simd --no-liftoff` (stdio inherited, signals forwarded,
 * the child's exit code or signal passed on). Node 20's baseline WebAssembly compiler (Liftoff)
 * computes `i32x4.relaxed_dot_i8x16_i7x16_add_s` wrongly (it drops the accumulator; checked here
 * on v20.20), so the child compiles WebAssembly with the optimizing compiler only. The kernels'
 * load-time self-check (src/kernels/wasm/wasm-kernel-set.ts) still decides whether the relaxed
 * build is used.
 *
 * Skipped when: the engine already validates relaxed SIMD (Node >= 22, or the flag was given),
 * EDGELLM_SIMD=simd128, EDGELLM_NO_RELAUNCH is set, or this process is itself the relaunched
 * child (EDGELLM_RELAUNCHED guards against loops).
 */
import { spawn } from "node:child_process";
import { constants as osConstants } from "node:os";

/** V8 flags the child gets (Node 20). */
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

/** The child's node arguments when a relaunch is due, else null. */
export function relaunchPlan(env: NodeJS.ProcessEnv = process.env): string[] | null {
  if (env.EDGELLM_RELAUNCHED || env.EDGELLM_NO_RELAUNCH) return null;
  if (env.EDGELLM_SIMD === "simd128") return null;
  if (engineHasRelaxedSimd()) return null;
  const major = Number(process.versions.node.split(".")[0]);
  if (!(major >= 20)) return null;
  return [...process.execArgv, ...RELAXED_NODE_FLAGS, ...process.argv.slice(1)];
}

/**
 * Runs the CLI again in a child Node with relaxed SIMD enabled; resolves when the child exits,
 * having set process.exitCode to the child's (or re-raised the child's signal). Returns false
 * (and starts nothing) when no relaunch is due or the child cannot be spawned.
 */
export function relaunchWithRelaxedSimd(): Promise<boolean> {
  const args = relaunchPlan();
  if (!args) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      stdio: "inherit",
      env: { ...process.env, EDGELLM_RELAUNCHED: "1" },
    });
    const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    const forward = (s: NodeJS.Signals) => {
      // A terminal's Ctrl-C reaches the whole process group (the child too); forwarding again
      // would deliver it twice, so only forward signals sent to this process alone.
      if (s === "SIGINT" && process.stdin.isTTY) return;
      child.kill(s);
    };
    const handlers = signals.map((s) => {
      const h = () => forward(s);
      process.on(s, h);
      return [s, h] as const;
    });
    let spawned = false;
    child.once("spawn", () => {
      spawned = true;
    });
    child.once("error", () => {
      for (const [s, h] of handlers) process.off(s, h);
      // spawn failure: run in this process (SIMD128) instead
      if (!spawned) resolve(false);
    });
    child.once("exit", (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      if (signal && signals.includes(signal)) {
        // die of the same signal, as a shell expects (exit status 128 + n)
        process.kill(process.pid, signal);
        return;
      }
      if (signal) {
        process.exitCode = 128 + (osConstants.signals[signal] ?? 0);
        resolve(true);
        return;
      }
      process.exitCode = code ?? 1;
      resolve(true);
    });
  });
}
