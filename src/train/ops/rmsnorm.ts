/**
 * RMSNorm as llama.cpp applies it (ggml_rms_norm then multiply by the weight):
 *   y[n, :] = x[n, :] * rstd[n] * w,   rstd[n] = 1 / sqrt(mean(x[n, :]^2) + eps)
 * x, y: (N, C); w: (C); rstd: (N), saved for backward.
 */
import type { Buf } from "./buf.js";

export function rmsnormForward(y: Buf, rstd: Buf, x: Buf, w: Buf, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let ss = 0;
    for (let i = 0; i < C; i++) ss += x[o + i] * x[o + i];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let i = 0; i < C; i++) y[o + i] = x[o + i] * r * w[i];
  }
}

/**
 * Accumulates into dx (N, C) and dw (C). With g = w * dy:
 *   dx = rstd * g - x * rstd^3 * (g . x) / C,   dw += dy * x * rstd
 */
export function rmsnormBackward(
  dx: Buf,
  dw: Buf,
  dy: Buf,
  x: Buf,
  w: Buf,
  rstd: Buf,
  N: number,
  C: number,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const r = rstd[n];
    let dot = 0;
    for (let i = 0; i < C; i++) dot += w[i] * dy[o + i] * x[o + i];
    const k = (r * r * r * dot) / C;
    for (let i = 0; i < C; i++) {
      dx[o + i] += r * w[i] * dy[o + i] - k * x[o + i];
      dw[i] += dy[o + i] * x[o + i] * r;
    }
  }
}
