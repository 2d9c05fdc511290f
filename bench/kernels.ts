/**
 * Kernel benchmark: GB/s of weights and GFLOP/s per op, type and thread count, plus the measured
 * memory-read ceiling, as a table.
 *   node <outDir>/bench/kernels.js [--threads 1,2] [--quick]
 * matvec 11008x4096 (one token: bytes-bound), matmul 512 tokens x 4096 -> 4096 (prefill:
 * compute-bound). The "native" column repeats ggml AVX2 figures measured on this machine class
 * (issue #3) for orientation; they are not re-measured here. Times are medians.
 */
import { GGMLType, ggmlTypeName, ggmlRowBytes } from "../src/gguf/types.js";
import { createWasmKernelSet, type WasmKernelSet } from "../src/kernels/wasm/wasm-kernel-set.js";
import type { PreparedWeight } from "../src/kernels/kernel-set.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const ti = args.indexOf("--threads");
const THREADS = ti >= 0 ? args[ti + 1]!.split(",").map(Number) : [1, 2];

/** ggml AVX2 GB/s (1 thread / 2 threads) for matvec 11008x4096, from issue #3. */
const NATIVE: Partial<Record<string, [number, number]>> = { F32: [16.4, 23.9], Q8_0: [13.2, 21.1], Q4_0: [9.2, 17.1] };

function rand(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 4294967296;
  };
}

/** Random weight bytes with sane fp16 scales (0x1c00..0x23ff ~ 0.004..0.015) in every block. */
function weightBytes(type: GGMLType, rows: number, cols: number): Uint8Array {
  const n = ggmlRowBytes(type, cols) * rows;
  const b = new Uint8Array(n);
  const r = rand(type + 7);
  if (type === GGMLType.F32) {
    const f = new Float32Array(b.buffer);
    for (let i = 0; i < f.length; i++) f[i] = r() - 0.5;
    return b;
  }
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  const scaleAt: Record<number, [number, number[]]> = {
    [GGMLType.Q8_0]: [34, [0]],
    [GGMLType.Q4_0]: [18, [0]],
    [GGMLType.Q4_K]: [144, [0, 2]],
    [GGMLType.Q6_K]: [210, [208]],
  };
  const [bs, fields] = scaleAt[type]!;
  for (let o = 0; o < n; o += bs) for (const f of fields) (b[o + f] = 0), (b[o + f + 1] = 0x1c + ((r() * 8) | 0));
  return b;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(fn: () => void, reps: number): number {
  fn(); // warm-up (tier-up, page faults)
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

interface Row {
  op: string;
  type: string;
  shape: string;
  threads: number;
  ms: number;
  gbs: number;
  gflops: number;
  native?: number;
}

async function benchThreads(threads: number, rows: Row[]): Promise<void> {
  const ks: WasmKernelSet = await createWasmKernelSet({ threads });
  // Memory-read ceiling: sum 256 MiB.
  const units = 4096;
  const p = ks.arena.alloc(units * 65536);
  const out = ks.arena.alloc(units * 16);
  ks.arena.u8(p, units * 65536).fill(1);
  const readMs = time(() => ks.dispatch("read_sum", [p, out], units), quick ? 3 : 10);
  rows.push({ op: "read", type: "-", shape: "256 MiB", threads, ms: readMs, gbs: (units * 65536) / readMs / 1e6, gflops: 0 });

  const R = 11008;
  const C = 4096;
  const types = [GGMLType.F32, GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_K, GGMLType.Q6_K];
  const x = ks.alloc(C);
  const y = ks.alloc(R);
  const rx = rand(1);
  for (let i = 0; i < C; i++) x[i] = rx() - 0.5;
  const weights = new Map<GGMLType, PreparedWeight>();
  for (const t of types) {
    const bytes = weightBytes(t, R, C);
    const w = ks.prepareWeight(t, bytes, R, C);
    weights.set(t, w);
    const ms = time(() => ks.matvec(w, x, y), quick ? 5 : 30);
    const name = ggmlTypeName(t);
    rows.push({
      op: "matvec",
      type: name,
      shape: `${R}x${C}`,
      threads,
      ms,
      gbs: bytes.length / ms / 1e6,
      gflops: (2 * R * C) / ms / 1e6,
      native: NATIVE[name]?.[threads - 1],
    });
  }
  // Prefill: 512 tokens through a 4096x4096 weight (rows of the first 4096 of each matrix).
  const T = quick ? 64 : 512;
  const N = 4096;
  const X = ks.alloc(T * C);
  for (let i = 0; i < X.length; i++) X[i] = rx() - 0.5;
  const Y = ks.alloc(T * N);
  for (const t of types) {
    const bytes = weightBytes(t, N, C);
    const w = ks.prepareWeight(t, bytes, N, C);
    const ms = time(() => ks.matmul(w, X, T, Y), quick ? 1 : 3);
    rows.push({
      op: "matmul",
      type: ggmlTypeName(t),
      shape: `${T}x${C}->${N}`,
      threads,
      ms,
      gbs: bytes.length / ms / 1e6,
      gflops: (2 * T * N * C) / ms / 1e6,
    });
  }
  await ks.dispose();
}

const rows: Row[] = [];
for (const t of THREADS) await benchThreads(t, rows);

const f = (v: number, d = 1) => v.toFixed(d).padStart(7);
console.log(`edgellm kernels: wasm-simd128, node ${process.version}\n`);
console.log("| op     | type | shape            | thr |      ms |    GB/s | GFLOP/s | native GB/s |");
console.log("|--------|------|------------------|-----|---------|---------|---------|-------------|");
for (const r of rows) {
  console.log(
    `| ${r.op.padEnd(6)} | ${r.type.padEnd(4)} | ${r.shape.padEnd(16)} | ${String(r.threads).padStart(3)} | ${f(r.ms, 2)} | ${f(r.gbs)} | ${r.gflops ? f(r.gflops) : "      -"} | ${r.native ? f(r.native).padStart(11) : "          -"} |`,
  );
}
