/**
 * The element-wise operators of the vision encoder, with ggml CPU semantics (float32 steps):
 *  - layerNorm: ggml_norm (mean, centred variance, 1/sqrtf(var + eps)) then * w, + b;
 *  - GELU (tanh form) and quick GELU through IEEE half, as ggml's CPU backend evaluates them
 *    (GGML_GELU_FP16: the input is rounded to half and looked up in a half-precision table;
 *    tanh GELU passes x <= -10 as 0 and x >= 10 as x). Matching this keeps encoder outputs
 *    within 1e-3 of llama.cpp's instead of drifting by the table's ~5e-4 relative step;
 *  - SiLU in float.
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

/** In-place activation of x[0..n). */
export function activate(act: VisionAct, x: Float32Array, n = x.length): void {
  const fn = act === "gelu" ? gelu : act === "gelu_quick" ? geluQuick : silu;
  for (let i = 0; i < n; i++) x[i] = fn(x[i]!);
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
