/**
 * Linear layer without bias, ggml/PyTorch weight layout: w is (O, I) row-major (GGUF dims [I, O]),
 *   out (N, O) = inp (N, I) @ w^T
 * Plain-TS reference loops (llm.c matmul_forward_naive style), kept behind this two-function
 * interface so the WASM kernels can replace them without touching the model.
 */
import type { Buf } from "./buf.js";

export function matmulForward(out: Buf, inp: Buf, w: Buf, N: number, I: number, O: number): void {
  // 4 output columns at a time: each input row is read once per 4 weight rows
  for (let n = 0; n < N; n++) {
    const xi = n * I;
    const oi = n * O;
    let o = 0;
    for (; o + 3 < O; o += 4) {
      const w0 = o * I;
      const w1 = w0 + I;
      const w2 = w1 + I;
      const w3 = w2 + I;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < I; i++) {
        const x = inp[xi + i];
        s0 += x * w[w0 + i];
        s1 += x * w[w1 + i];
        s2 += x * w[w2 + i];
        s3 += x * w[w3 + i];
      }
      out[oi + o] = s0;
      out[oi + o + 1] = s1;
      out[oi + o + 2] = s2;
      out[oi + o + 3] = s3;
    }
    for (; o < O; o++) {
      const w0 = o * I;
      let s = 0;
      for (let i = 0; i < I; i++) s += inp[xi + i] * w[w0 + i];
      out[oi + o] = s;
    }
  }
}

/**
 * Accumulates (+=) into dinp (N, I) and dw (O, I):
 *   dinp = dout @ w,  dw = dout^T @ inp
 * `dinp` may be null when the input needs no gradient (e.g. nothing upstream).
 */
export function matmulBackward(dinp: Buf | null, dw: Buf, dout: Buf, inp: Buf, w: Buf, N: number, I: number, O: number): void {
  if (dinp) {
    for (let n = 0; n < N; n++) {
      const di = n * I;
      const go = n * O;
      for (let o = 0; o < O; o++) {
        const d = dout[go + o];
        if (d === 0) continue;
        const wo = o * I;
        for (let i = 0; i < I; i++) dinp[di + i] += d * w[wo + i];
      }
    }
  }
  for (let o = 0; o < O; o++) {
    const wo = o * I;
    for (let n = 0; n < N; n++) {
      const d = dout[n * O + o];
      if (d === 0) continue;
      const xi = n * I;
      for (let i = 0; i < I; i++) dw[wo + i] += d * inp[xi + i];
    }
  }
}
