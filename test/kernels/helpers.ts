/** Test helpers: deterministic random tensors in ggml block layouts (valid scales). */
import { GGMLType, ggmlRowBytes } from "../../src/gguf/types.js";
import { f32ToFp16 } from "../../src/kernels/ref/fp16.js";
import { quantizeRowF16 } from "../../src/quant/f16.js";
import { quantizeRowBF16 } from "../../src/quant/bf16.js";

/** Every weight type the WASM kernel set prepares (the kernel tests run each of them). */
export const WASM_WEIGHT_TYPES: readonly GGMLType[] = [
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
  GGMLType.MXFP4,
];

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomF32(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

function put16(b: Uint8Array, o: number, v: number): void {
  const h = f32ToFp16(v);
  b[o] = h & 255;
  b[o + 1] = h >> 8;
}

/** Offsets of the fp16 scale fields inside one block, per type. */
const SCALE_FIELDS: ReadonlyMap<GGMLType, { blockBytes: number; fields: number[] }> = new Map([
  [GGMLType.Q8_0, { blockBytes: 34, fields: [0] }],
  [GGMLType.Q4_0, { blockBytes: 18, fields: [0] }],
  [GGMLType.Q4_1, { blockBytes: 20, fields: [0, 2] }],
  [GGMLType.Q5_0, { blockBytes: 22, fields: [0] }],
  [GGMLType.Q5_1, { blockBytes: 24, fields: [0, 2] }],
  [GGMLType.Q4_K, { blockBytes: 144, fields: [0, 2] }],
  [GGMLType.Q5_K, { blockBytes: 176, fields: [0, 2] }],
  [GGMLType.Q6_K, { blockBytes: 210, fields: [208] }],
  [GGMLType.Q2_K, { blockBytes: 84, fields: [80, 82] }],
  [GGMLType.Q3_K, { blockBytes: 110, fields: [108] }],
  [GGMLType.IQ4_NL, { blockBytes: 18, fields: [0] }],
  [GGMLType.IQ4_XS, { blockBytes: 136, fields: [0] }],
]);

/** A random weight matrix of `type` in ggml layout: random quants, scales in [0.002, 0.02). */
export function randomWeight(type: GGMLType, rows: number, cols: number, seed: number): Uint8Array {
  const r = rng(seed);
  if (type === GGMLType.F32) {
    const f = randomF32(rows * cols, seed, 0.1);
    return new Uint8Array(f.buffer);
  }
  if (type === GGMLType.F16 || type === GGMLType.BF16) {
    const f = randomF32(rows * cols, seed, 0.1);
    const b = new Uint8Array(rows * cols * 2);
    (type === GGMLType.F16 ? quantizeRowF16 : quantizeRowBF16)(f, 0, b, 0, rows * cols);
    return b;
  }
  const n = ggmlRowBytes(type, cols) * rows;
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  if (type === GGMLType.MXFP4) {
    // E8M0 exponents: scales 2^-10..2^-3, and now and then e = 0, 1 (ggml's subnormal halves)
    for (let o = 0; o < n; o += 17) b[o] = r() < 0.05 ? Math.floor(r() * 2) : 118 + Math.floor(r() * 8);
    return b;
  }
  const sf = SCALE_FIELDS.get(type)!;
  for (let o = 0; o < n; o += sf.blockBytes) for (const f of sf.fields) put16(b, o + f, 0.002 + 0.018 * r());
  return b;
}

/** Largest |a[i]-b[i]| relative to (1 + max|b|). */
export function maxRelDiff(a: Float32Array, b: Float32Array, n: number): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return m / (1 + s);
}
