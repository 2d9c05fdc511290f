/**
 * Gated feed-forward (SwiGLU): out = W_down (silu(W_gate x) * (W_up x)), batched over tokens.
 * A fused gate/up weight (phi3) holds [gate rows; up rows] in one matrix. Plain-TS form (MoE
 * experts, models without a KernelSet); the KernelSet form is forward.ts ffnBlock.
 */
import type { Weight } from "../weights.js";
import type { BlockOps } from "./ops.js";
import type { FfnAct } from "../arch/spec.js";

const f = Math.fround;

export interface FfnWeights {
  gate: Weight | undefined;
  up: Weight;
  down: Weight;
  /** up holds [gate; up] stacked (2 * nFF rows). */
  fused: boolean;
}

/** silu(x) = x / (1 + e^-x), in float. */
export function silu(x: number): number {
  return f(x / f(1 + f(Math.exp(-x))));
}

const SQRT_2_OVER_PI = f(0.79788456080286535587989211986876);
const GELU_COEF_A = f(0.044715);

/** GELU, tanh approximation, in float: 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))). */
export function geluTanh(x: number): number {
  const inner = f(f(SQRT_2_OVER_PI * x) * f(1 + f(f(GELU_COEF_A * x) * x)));
  return f(f(0.5 * x) * f(1 + f(Math.tanh(inner))));
}

/**
 * x: [nTok, nEmbd] -> out: [nTok, nEmbd]. `act`: the gate activation (SwiGLU or GeGLU). `vecOrder`: the products are a MoE's expert products
 * (BlockOps.matmul). SwiGLU runs per row (a reference set's vector exp covers blocks within a row).
 */
export function swiglu(
  ops: BlockOps,
  w: FfnWeights,
  x: Float32Array,
  nTok: number,
  out: Float32Array,
  vecOrder = false,
  act: FfnAct = "silu",
): void {
  const mul = act === "gelu" ? ops.geluMul : ops.siluMul;
  const nFF = w.down.cols;
  const h = new Float32Array(nTok * nFF);
  if (w.fused) {
    const gu = new Float32Array(nTok * 2 * nFF);
    ops.matmul(w.up, x, nTok, gu, w.up.cols, w.up.rows, vecOrder);
    for (let t = 0; t < nTok; t++) mul.call(ops, gu, t * 2 * nFF, gu, t * 2 * nFF + nFF, h, t * nFF, nFF);
  } else {
    const g = new Float32Array(nTok * nFF);
    ops.matmul(w.gate!, x, nTok, g, w.gate!.cols, w.gate!.rows, vecOrder);
    ops.matmul(w.up, x, nTok, h, w.up.cols, w.up.rows, vecOrder);
    for (let t = 0; t < nTok; t++) mul.call(ops, g, t * nFF, h, t * nFF, h, t * nFF, nFF);
  }
  ops.matmul(w.down, h, nTok, out, w.down.cols, w.down.rows, vecOrder);
}
