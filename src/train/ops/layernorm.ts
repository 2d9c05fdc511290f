/**
 * LayerNorm as CLIP/ViT encoders apply it (ggml_norm, then weight and bias):
 *   y[n, :] = (x[n, :] - mean[n]) * rstd[n] * w + b,   rstd[n] = 1 / sqrt(var[n] + eps)
 * x, y: (N, C); w, b: (C); xhat (N, C) and rstd (N) are saved for backward.
 */
import type { Buf } from "./buf.js";

export function layernormForward(
  y: Buf,
  xhat: Buf,
  rstd: Buf,
  x: Buf,
  w: Buf,
  b: Buf,
  N: number,
  C: number,
  eps: number,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let mean = 0;
    for (let i = 0; i < C; i++) mean += x[o + i];
    mean /= C;
    let vs = 0;
    for (let i = 0; i < C; i++) {
      const d = x[o + i] - mean;
      vs += d * d;
    }
    const r = 1 / Math.sqrt(vs / C + eps);
    rstd[n] = r;
    for (let i = 0; i < C; i++) {
      const h = (x[o + i] - mean) * r;
      xhat[o + i] = h;
      y[o + i] = h * w[i] + b[i];
    }
  }
}

/**
 * Accumulates into dx (N, C), dw and db (C). With g = w * dy:
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  dw += dy * xhat,  db += dy
 */
export function layernormBackward(
  dx: Buf,
  dw: Buf,
  db: Buf,
  dy: Buf,
  xhat: Buf,
  w: Buf,
  rstd: Buf,
  N: number,
  C: number,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let mg = 0;
    let mgx = 0;
    for (let i = 0; i < C; i++) {
      const g = w[i] * dy[o + i];
      mg += g;
      mgx += g * xhat[o + i];
      dw[i] += dy[o + i] * xhat[o + i];
      db[i] += dy[o + i];
    }
    mg /= C;
    mgx /= C;
    const r = rstd[n];
    for (let i = 0; i < C; i++) dx[o + i] += r * (w[i] * dy[o + i] - mg - xhat[o + i] * mgx);
  }
}
