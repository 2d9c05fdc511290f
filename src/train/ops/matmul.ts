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
 * Both products are blocked by 4 (4 weight rows / 4 input rows per pass) so each output element
 * is loaded and stored once per 4 multiply-adds.
 */
export function matmulBackward(dinp: Buf | null, dw: Buf, dout: Buf, inp: Buf, w: Buf, N: number, I: number, O: number): void {
  if (dinp) matmulBackwardInput(dinp, dout, w, N, I, O);
  matmulBackwardWeight(dw, dout, inp, N, I, O);
}

function matmulBackwardInput(dinp: Buf, dout: Buf, w: Buf, N: number, I: number, O: number): void {
  for (let n = 0; n < N; n++) {
    const di = n * I;
    const go = n * O;
    let o = 0;
    for (; o + 3 < O; o += 4) {
      const d0 = dout[go + o];
      const d1 = dout[go + o + 1];
      const d2 = dout[go + o + 2];
      const d3 = dout[go + o + 3];
      const w0 = o * I;
      const w1 = w0 + I;
      const w2 = w1 + I;
      const w3 = w2 + I;
      for (let i = 0; i < I; i++) dinp[di + i] += d0 * w[w0 + i] + d1 * w[w1 + i] + d2 * w[w2 + i] + d3 * w[w3 + i];
    }
    for (; o < O; o++) {
      const d = dout[go + o];
      const wo = o * I;
      for (let i = 0; i < I; i++) dinp[di + i] += d * w[wo + i];
    }
  }
}

function matmulBackwardWeight(dw: Buf, dout: Buf, inp: Buf, N: number, I: number, O: number): void {
  for (let o = 0; o < O; o++) {
    const wo = o * I;
    let n = 0;
    for (; n + 3 < N; n += 4) {
      const d0 = dout[n * O + o];
      const d1 = dout[(n + 1) * O + o];
      const d2 = dout[(n + 2) * O + o];
      const d3 = dout[(n + 3) * O + o];
      const x0 = n * I;
      const x1 = x0 + I;
      const x2 = x1 + I;
      const x3 = x2 + I;
      for (let i = 0; i < I; i++) dw[wo + i] += d0 * inp[x0 + i] + d1 * inp[x1 + i] + d2 * inp[x2 + i] + d3 * inp[x3 + i];
    }
    for (; n < N; n++) {
      const d = dout[n * O + o];
      const xi = n * I;
      for (let i = 0; i < I; i++) dw[wo + i] += d * inp[xi + i];
    }
  }
}
