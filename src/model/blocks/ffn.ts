/**
 * Gated feed-forward (SwiGLU): out = W_down (silu(W_gate x) * (W_up x)), batched over tokens.
 * A fused gate/up weight (phi3) holds [gate rows; up rows] in one matrix.
 */
import type { Weight } from "../weights.js";
import { swigluGgml } from "./ggml-dot.js";
import { matmul } from "./linear.js";

const f = Math.fround;

export interface FfnWeights {
  gate: Weight | undefined;
  up: Weight;
  down: Weight;
  /** up holds [gate; up] stacked (2 * nFF rows). */
  fused: boolean;
}

/** silu(x) = x / (1 + e^-x), in float as ggml computes it. */
export function silu(x: number): number {
  return f(x / f(1 + f(Math.exp(-x))));
}

/** x: [nTok, nEmbd] -> out: [nTok, nEmbd]. `vecOrder`: products in ggml's mul_mat_id order (experts). */
export function swiglu(w: FfnWeights, x: Float32Array, nTok: number, out: Float32Array, vecOrder = false): void {
  const nFF = w.down.cols;
  const h = new Float32Array(nTok * nFF);
  if (w.fused) {
    const gu = new Float32Array(nTok * 2 * nFF);
    matmul(w.up, x, nTok, gu, w.up.cols, w.up.rows, vecOrder);
    for (let t = 0; t < nTok; t++) swigluGgml(gu, t * 2 * nFF, gu, t * 2 * nFF + nFF, h, t * nFF, nFF);
  } else {
    const g = new Float32Array(nTok * nFF);
    matmul(w.gate!, x, nTok, g, w.gate!.cols, w.gate!.rows, vecOrder);
    matmul(w.up, x, nTok, h, w.up.cols, w.up.rows, vecOrder);
    // ggml runs SwiGLU per row (its vector exp covers blocks of 8 within a row).
    for (let t = 0; t < nTok; t++) swigluGgml(g, t * nFF, h, t * nFF, h, t * nFF, nFF);
  }
  matmul(w.down, h, nTok, out, w.down.cols, w.down.rows, vecOrder);
}
