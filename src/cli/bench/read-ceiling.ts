/**
 * The memory-read ceiling: GB/s at which the WASM kernels' threads can stream bytes that are not
 * in cache. Runs the `read_sum` probe export (kernels-src/assembly/bench.ts: each 64 KiB unit
 * summed with four independent v128 accumulators) over a buffer far larger than the last-level
 * cache, on the kernel set's own thread pool, and takes the median of `reps` timed passes.
 * Shared by bench/kernels.ts and `edgellm bench` (the bandwidth view of decode).
 */
import type { WasmKernelSet } from "../../kernels/wasm/wasm-kernel-set.js";

export interface ReadCeiling {
  bytes: number;
  /** Median pass time. */
  ms: number;
  gbs: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Sum `mib` MiB (default 256) of f32 through the probe; one warm-up pass, then `reps` timed. */
export function measureReadCeiling(ks: WasmKernelSet, mib = 256, reps = 10): ReadCeiling {
  const units = mib * 16; // 64 KiB units
  const p = ks.arena.alloc(units * 65536);
  const out = ks.arena.alloc(units * 16);
  ks.arena.u8(p, units * 65536).fill(1);
  ks.dispatch("read_sum", [p, out], units); // warm-up: page faults, tier-up
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    ks.dispatch("read_sum", [p, out], units);
    ts.push(performance.now() - t0);
  }
  const ms = median(ts);
  return { bytes: units * 65536, ms, gbs: (units * 65536) / ms / 1e6 };
}
