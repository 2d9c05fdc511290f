/**
 * Gated feed-forward (SwiGLU): out = W_down (silu(W_gate x) * (W_up x)), batched over tokens.
 * A fused gate/up weight (phi3) holds [gate rows; up rows] in one matrix.
 */
import type { Weight } from "../weights.js";
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

/** x: [nTok, nEmbd] -> out: [nTok, nEmbd]. */
export function swiglu(w: FfnWeights, x: Float32Array, nTok: number, out: Float32Array): void {
  const nFF = w.down.cols;
  const h = new Float32Array(nTok * nFF);
  if (w.fused) {
    const gu = new Float32Array(nTok * 2 * nFF);
    matmul(w.up, x, nTok, gu);
    for (let t = 0; t < nTok; t++) {
      const o = t * 2 * nFF;
      for (let i = 0; i < nFF; i++) h[t * nFF + i] = f(silu(gu[o + i]) * gu[o + nFF + i]);
    }
  } else {
    const g = new Float32Array(nTok * nFF);
    matmul(w.gate!, x, nTok, g);
    matmul(w.up, x, nTok, h);
    for (let i = 0; i < nTok * nFF; i++) h[i] = f(silu(g[i]) * h[i]);
  }
  matmul(w.down, h, nTok, out);
}
