/**
 * The element-wise operators of the vision encoder, with ggml CPU semantics (float32 steps):
 *  - layerNorm: ggml_norm (mean, centred variance, 1/sqrtf(var + eps)) then * w, + b;
 *  - GELU (tanh form) and quick GELU through IEEE half, as ggml's CPU backend evaluates them
 *    (GGML_GELU_FP16: the input is rounded to half and looked up in a half-precision table;
 *    tanh GELU passes x <= -10 as 0 and x >= 10 as x). Matching this keeps encoder outputs
 *    within 1e-3 of llama.cpp's instead of drifting by the table's ~5e-4 relative step;
 *  - SiLU in float.
 * `activate` evaluates both GELUs through 65536-entry half tables (ggml's own method), bit-identical
 * to the scalar `gelu` / `geluQuick` and about an order of magnitude faster.
 * O(n) work on rows held in JS; the matrix products run on the KernelSet.
 */
import { f32ToFp16, fp16ToF32 } from "../kernels/ref/fp16.js";
import type { VisionAct } from "./mmproj.js";
import type { NormParams } from "./weights.js";

const f = Math.fround;
const SQRT_2_OVER_PI = f(0.79788456080286535587989211986876);
const GELU_COEF_A = f(0.044715);
const GELU_QUICK_COEF = f(-1.702);

const half = (x: number) => fp16ToF32(f32ToFp16(x));

function geluTanhF32(x: number): number {
  return f(f(0.5 * x) * f(1 + f(Math.tanh(f(f(SQRT_2_OVER_PI * x) * f(1 + f(f(GELU_COEF_A * x) * x)))))));
}

function geluQuickF32(x: number): number {
  return f(x * f(1 / f(1 + f(Math.exp(f(GELU_QUICK_COEF * x))))));
}

/** ggml_gelu on the CPU backend. */
export function gelu(x: number): number {
  if (x <= -10) return 0;
  if (x >= 10) return x;
  return half(geluTanhF32(half(x)));
}

/** ggml_gelu_quick on the CPU backend: x * sigmoid(1.702 x) through half. */
export function geluQuick(x: number): number {
  return half(geluQuickF32(half(x)));
}

export function silu(x: number): number {
  return f(x / f(1 + f(Math.exp(-x))));
}

/**
 * Half-precision tables, as ggml's CPU backend keeps them: entry h = half(fn(half value h)), for
 * all 65536 half bit patterns. `table[halfBits(x)]` is therefore bit-identical to
 * `half(fn(half(x)))`; built on first use (65536 evaluations, a few ms).
 */
const tables = new Map<"gelu" | "gelu_quick", Float32Array>();
function table(act: "gelu" | "gelu_quick"): Float32Array {
  let t = tables.get(act);
  if (!t) {
    const fn = act === "gelu" ? geluTanhF32 : geluQuickF32;
    t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = half(fn(fp16ToF32(h)));
    tables.set(act, t);
  }
  return t;
}

/**
 * Round-to-nearest-even half bits of the f32 with bits b: inline for halves that are normal
 * (f32 exponent 113..142; the rounding carry into the exponent gives infinity past 65504), the
 * scalar converter for the rest (subnormals, zero, overflow, NaN).
 */
function halfBitsOf(b: number, x: number): number {
  const e = (b >>> 23) & 0xff;
  if (e < 113 || e > 142) return f32ToFp16(x);
  const r = b + 0xfff + ((b >>> 13) & 1);
  return ((b >>> 16) & 0x8000) | (((r & 0x7fffffff) >>> 13) - (112 << 10));
}

/** In-place activation of x[0..n): GELU and quick GELU through the half tables, SiLU in float. */
export function activate(act: VisionAct, x: Float32Array, n = x.length): void {
  if (act === "silu") {
    for (let i = 0; i < n; i++) x[i] = silu(x[i]!);
    return;
  }
  const t = table(act);
  const bits = new Uint32Array(x.buffer, x.byteOffset, n);
  if (act === "gelu") {
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      // ggml's tanh GELU passes the tails through (x <= -10 -> 0, x >= 10 -> x)
      if (v <= -10) x[i] = 0;
      else if (v < 10) x[i] = t[halfBitsOf(bits[i]!, v)]!;
    }
  } else {
    for (let i = 0; i < n; i++) x[i] = t[halfBitsOf(bits[i]!, x[i]!)]!;
  }
}

/** out[r] = LayerNorm(x[r]) * w + b for each of nRows rows of width n (out may alias x). */
export function layerNorm(
  x: Float32Array,
  out: Float32Array,
  n: number,
  nRows: number,
  eps: number,
  p: NormParams | undefined,
): void {
  const w = p?.w;
  const b = p?.b;
  const feps = f(eps);
  for (let r = 0; r < nRows; r++) {
    const o = r * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x[o + i]!;
    const mean = f(f(sum) / n);
    let v = 0;
    for (let i = 0; i < n; i++) {
      const d = f(x[o + i]! - mean);
      out[o + i] = d;
      v += d * d;
    }
    const scale = f(1 / f(Math.sqrt(f(f(v / n) + feps))));
    for (let i = 0; i < n; i++) {
      let y = f(out[o + i]! * scale);
      if (w) y = f(y * w[i]!);
      if (b) y = f(y + b[i]!);
      out[o + i] = y;
    }
  }
}

/** x[r] += b for each of nRows rows of width n. */
export function addRows(x: Float32Array, b: Float32Array | undefined, n: number, nRows: number): void {
  if (!b) return;
  for (let r = 0; r < nRows; r++) for (let i = 0, o = r * n; i < n; i++) x[o + i] = f(x[o + i]! + b[i]!);
}

/** a[i] += b[i] for i < n. */
export function addInPlace(a: Float32Array, b: Float32Array, n = a.length): void {
  for (let i = 0; i < n; i++) a[i] = f(a[i]! + b[i]!);
}
