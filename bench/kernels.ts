/**
 * Kernel benchmark: GB/s of weights and GFLOP/s per op, type and thread count, plus the memory-read
 * ceiling measured in the same run, as a table.
 *   node [--experimental-wasm-relaxed-simd] <outDir>/bench/kernels.js [--threads 1,2] [--quick] [--all]
 *        [--tokens 512] [--simd auto|simd128|relaxed] [--dot8 both|on|off] [--ops matvec,mv-llc,matmul]
 *        [--types Q4_0,Q4_K] [--reps N]
 * matvec 11008x4096 (one token: bytes-bound), mv-llc 1024x4096 (weights stay in the last-level
 * cache: the kernels' compute throughput), matmul T tokens x 4096 -> 4096 (prefill:
 * compute-bound; F32/Q8_0/Q4_0/Q4_K/Q6_K, all types with --all). Matvec types are timed
 * round-robin so that load swings on a shared machine affect all of them alike.
 * On a shared machine absolute times are noise, so each figure is given twice: from the best
 * (min) and the median of the repeats, and the matvec's GB/s as a ratio to the read ceiling
 * (min-based, same thread count). The "native" column repeats ggml AVX2 figures measured on the
 * target machine class (issue #3) for orientation; they are not re-measured here.
 */
import { GGMLType, ggmlTypeName, ggmlRowBytes } from "../src/gguf/types.js";
import {
  createWasmKernelSet,
  type SimdChoice,
  type WasmKernelSet,
} from "../src/kernels/wasm/wasm-kernel-set.js";
import type { PreparedWeight } from "../src/kernels/kernel-set.js";
import { loadavg } from "node:os";
import { quantizeRowF16 } from "../src/quant/f16.js";
import { quantizeRowBF16 } from "../src/quant/bf16.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const all = args.includes("--all");
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const THREADS = (opt("--threads") ?? "1,2").split(",").map(Number);
const T = Number(opt("--tokens") ?? (quick ? 64 : 512));
const SIMD = (opt("--simd") ?? "auto") as SimdChoice;
/** Int8-dot kernels (relaxed build): "both" times the i16 and the dot8 kernels side by side. */
const DOT8 = opt("--dot8") ?? "both";
/** Which ops and weight types to time (default: all ops, the default type lists). */
const OPS = new Set((opt("--ops") ?? "matvec,mv-llc,matmul").split(","));
const TYPES = opt("--types")?.split(",");
const REPS = opt("--reps") ? Number(opt("--reps")) : undefined;
const DOT8_TYPES = new Set([GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]);
let buildName = "";

const MATVEC_TYPES = [
  GGMLType.F32,
  GGMLType.F16,
  GGMLType.BF16,
  GGMLType.Q8_0,
  GGMLType.Q4_0,
  GGMLType.Q4_1,
  GGMLType.Q5_0,
  GGMLType.Q5_1,
  GGMLType.Q4_K,
  GGMLType.Q5_K,
  GGMLType.Q6_K,
  GGMLType.Q2_K,
  GGMLType.Q3_K,
  GGMLType.IQ4_NL,
  GGMLType.IQ4_XS,
];
const pick = (ts: GGMLType[]) => (TYPES ? ts.filter((t) => TYPES.includes(ggmlTypeName(t))) : ts);
const MATMUL_TYPES = pick(
  all ? MATVEC_TYPES : [GGMLType.F32, GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_K, GGMLType.Q6_K],
);

/** ggml AVX2 GB/s (1 thread / 2 threads) for matvec 11008x4096, from issue #3. */
const NATIVE: Partial<Record<string, [number, number]>> = {
  F32: [16.4, 23.9],
  Q8_0: [13.2, 21.1],
  Q4_0: [9.2, 17.1],
};

function rand(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 4294967296;
  };
}

/** Offsets of the fp16 scale fields in one block (so no block has inf/NaN scales). */
const SCALES: Partial<Record<number, [number, number[]]>> = {
  [GGMLType.Q8_0]: [34, [0]],
  [GGMLType.Q4_0]: [18, [0]],
  [GGMLType.Q4_1]: [20, [0, 2]],
  [GGMLType.Q5_0]: [22, [0]],
  [GGMLType.Q5_1]: [24, [0, 2]],
  [GGMLType.Q4_K]: [144, [0, 2]],
  [GGMLType.Q5_K]: [176, [0, 2]],
  [GGMLType.Q6_K]: [210, [208]],
  [GGMLType.Q2_K]: [84, [80, 82]],
  [GGMLType.Q3_K]: [110, [108]],
  [GGMLType.IQ4_NL]: [18, [0]],
  [GGMLType.IQ4_XS]: [136, [0]],
};

/** Random weight bytes with sane fp16 scales (0x1c00..0x23ff ~ 0.004..0.015) in every block. */
function weightBytes(type: GGMLType, rows: number, cols: number): Uint8Array {
  const n = ggmlRowBytes(type, cols) * rows;
  const b = new Uint8Array(n);
  const r = rand(type + 7);
  if (type === GGMLType.F32 || type === GGMLType.F16 || type === GGMLType.BF16) {
    const f = new Float32Array(rows * cols);
    for (let i = 0; i < f.length; i++) f[i] = r() - 0.5;
    if (type === GGMLType.F32) return new Uint8Array(f.buffer);
    (type === GGMLType.F16 ? quantizeRowF16 : quantizeRowBF16)(f, 0, b, 0, f.length);
    return b;
  }
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  // ggml's Q8_0 quantizer never writes -128 (the int8-dot kernels need that, see repack.ts)
  if (type === GGMLType.Q8_0) for (let i = 0; i < n; i++) if (b[i] === 0x80) b[i] = 0x81;
  const [bs, fields] = SCALES[type]!;
  for (let o = 0; o < n; o += bs)
    for (const f of fields) ((b[o + f] = 0), (b[o + f + 1] = 0x1c + ((r() * 8) | 0)));
  return b;
}

/** [min, median] of reps timed runs after one warm-up (tier-up, page faults). */
function time(fn: () => void, reps: number): [number, number] {
  fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return [ts[0]!, ts[ts.length >> 1]!];
}

interface Row {
  op: string;
  type: string;
  shape: string;
  threads: number;
  ms: [number, number];
  bytes: number;
  flops: number;
  ceiling?: number;
  native?: number;
}

async function benchThreads(threads: number, rows: Row[]): Promise<void> {
  const ks: WasmKernelSet = await createWasmKernelSet({ threads, simd: SIMD });
  buildName = ks.name;
  // Memory-read ceiling: sum 128 MiB (past any cache) with the same pool.
  const units = 2048;
  const p = ks.arena.alloc(units * 65536);
  const out = ks.arena.alloc(units * 16);
  ks.arena.u8(p, units * 65536).fill(1);
  const read = (reps: number) => time(() => ks.dispatch("read_sum", [p, out], units), reps);
  // Measured before and after the matvecs; the better one is the ceiling (a shared machine
  // only ever makes a pass slower).
  const r0 = read(quick ? 3 : 15);
  const readRow: Row = {
    op: "read",
    type: "-",
    shape: "128 MiB",
    threads,
    ms: r0,
    bytes: units * 65536,
    flops: 0,
  };
  rows.push(readRow);
  const first = rows.length;

  const R = 11008;
  const C = 4096;
  const x = ks.alloc(C);
  const y = ks.alloc(R);
  const rx = rand(1);
  for (let i = 0; i < C; i++) x[i] = rx() - 0.5;
  // Round-robin over types, one call each per round, so load swings on a shared machine hit
  // every type alike (ratios between types stay meaningful).
  const roundRobin = (
    ws: { w: PreparedWeight; name: string; bytes: number }[],
    rowsN: number,
    reps: number,
    shape: string,
    op: string,
  ) => {
    const ts = ws.map(() => [] as number[]);
    for (const { w } of ws) ks.matvec(w, x, y.subarray(0, rowsN)); // warm-up
    for (let r = 0; r < reps; r++)
      ws.forEach(({ w }, i) => {
        const t0 = performance.now();
        ks.matvec(w, x, y.subarray(0, rowsN));
        ts[i]!.push(performance.now() - t0);
      });
    ws.forEach(({ name, bytes }, i) => {
      const s = ts[i]!.sort((a, b) => a - b);
      rows.push({
        op,
        type: name,
        shape,
        threads,
        ms: [s[0]!, s[s.length >> 1]!],
        bytes,
        flops: 2 * rowsN * C,
        native: op === "matvec" ? NATIVE[name.split(" ")[0]!]?.[threads - 1] : undefined,
      });
    });
  };
  // (type, dot8) variants: on a relaxed build with --dot8 both, each dot8 type twice
  const variants = (types: GGMLType[]) =>
    types.flatMap((t) => {
      if (!DOT8_TYPES.has(t) || ks.name !== "wasm-relaxed-simd") return [[t, false] as const];
      if (DOT8 === "both") return [[t, false] as const, [t, true] as const];
      return [[t, DOT8 === "on"] as const];
    });
  const label = (t: GGMLType, d: boolean) =>
    ggmlTypeName(t) + (DOT8_TYPES.has(t) && ks.name === "wasm-relaxed-simd" ? (d ? " dot8" : " i16") : "");
  if (OPS.has("matvec")) {
    const big = variants(pick(MATVEC_TYPES)).map(([t, d]) => {
      const bytes = weightBytes(t, R, C);
      return { w: ks.prepareWeightLayout(t, bytes, R, C, d), name: label(t, d), bytes: bytes.length };
    });
    roundRobin(big, R, REPS ?? (quick ? 5 : 30), `${R}x${C}`, "matvec");
  }
  // Compute throughput: weights small enough to stay in the last-level cache (1024x4096).
  const RL = 1024;
  if (OPS.has("mv-llc")) {
    const small = variants(pick(MATVEC_TYPES)).map(([t, d]) => {
      const bytes = weightBytes(t, RL, C);
      return { w: ks.prepareWeightLayout(t, bytes, RL, C, d), name: label(t, d), bytes: bytes.length };
    });
    roundRobin(small, RL, REPS ?? (quick ? 10 : 60), `${RL}x${C} (LLC)`, "mv-llc");
  }
  const r1 = read(quick ? 3 : 15);
  if (r1[0] < readRow.ms[0]) readRow.ms = r1;
  const ceiling = (units * 65536) / readRow.ms[0] / 1e6;
  for (let i = first; i < rows.length; i++) if (rows[i]!.op === "matvec") rows[i]!.ceiling = ceiling;
  // Prefill: T tokens through a 4096x4096 weight.
  const N = 4096;
  const X = ks.alloc(T * C);
  for (let i = 0; i < X.length; i++) X[i] = rx() - 0.5;
  const Y = ks.alloc(T * N);
  // Variants timed round-robin (i16 and dot8 of one type alternate), so load swings hit all.
  const mms = OPS.has("matmul")
    ? variants(MATMUL_TYPES).map(([t, d]) => {
        const bytes = weightBytes(t, N, C);
        return { w: ks.prepareWeightLayout(t, bytes, N, C, d), name: label(t, d), bytes: bytes.length };
      })
    : [];
  const mts = mms.map(() => [] as number[]);
  for (const { w } of mms) ks.matmul(w, X, T, Y); // warm-up
  for (let r = 0; r < (REPS ?? (quick ? 1 : 5)); r++)
    mms.forEach(({ w }, i) => {
      const t0 = performance.now();
      ks.matmul(w, X, T, Y);
      mts[i]!.push(performance.now() - t0);
    });
  mms.forEach(({ name, bytes }, i) => {
    const s = mts[i]!.sort((a, b) => a - b);
    rows.push({
      op: "matmul",
      type: name,
      shape: `${T}x${C}->${N}`,
      threads,
      ms: [s[0]!, s[s.length >> 1]!],
      bytes,
      flops: 2 * T * N * C,
    });
  });
  await ks.dispose();
}

const rows: Row[] = [];
for (const t of THREADS) await benchThreads(t, rows);

const f = (v: number, d = 1) => v.toFixed(d).padStart(7);
console.log(
  `edgellm kernels: ${buildName}, node ${process.version}; best (median) of repeats; load average at the end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}\n`,
);
console.log(
  "| op     | type      | shape            | thr | ms best | GB/s best (med) | GFLOP/s best (med) | /read | native GB/s |",
);
console.log(
  "|--------|-----------|------------------|-----|---------|-----------------|--------------------|-------|-------------|",
);
for (const r of rows) {
  const gb = (i: 0 | 1) => r.bytes / r.ms[i] / 1e6;
  const gf = (i: 0 | 1) => r.flops / r.ms[i] / 1e6;
  const gbs = `${f(gb(0))} (${gb(1).toFixed(1).padStart(5)})`;
  const gfs = r.flops ? `${f(gf(0))} (${gf(1).toFixed(1).padStart(6)})   ` : "        -         ";
  const ratio = r.ceiling ? (gb(0) / r.ceiling).toFixed(2).padStart(5) : "    -";
  const nat = r.native ? f(r.native).padStart(11) : "          -";
  console.log(
    `| ${r.op.padEnd(6)} | ${r.type.padEnd(9)} | ${r.shape.padEnd(16)} | ${String(r.threads).padStart(3)} | ${f(r.ms[0], 2)} | ${gbs} | ${gfs} | ${ratio} | ${nat} |`,
  );
}
