/**
 * GELU, tanh approximation (ggml_gelu, CLIP's "gelu" projector and FFN activation):
 *   y = 0.5 x (1 + tanh(c (x + 0.044715 x^3))),  c = sqrt(2 / pi)
 */
import type { Buf } from "./buf.js";

const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

export function geluForward(y: Buf, x: Buf, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + Math.tanh(C * (v + A * v * v * v)));
  }
}

/** Accumulates into dx: dx += dy * (0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)). */
export function geluBackward(dx: Buf, dy: Buf, x: Buf, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const t = Math.tanh(C * (v + A * v * v * v));
    dx[i] += dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * C * (1 + 3 * A * v * v));
  }
}
