/**
 * Linear layer without bias, ggml/PyTorch weight layout: w is (O, I) row-major (GGUF dims [I, O]),
 *   out (N, O) = inp (N, I) @ w^T
 * Plain-TS reference loops (llm.c matmul_forward_naive style), kept behind this two-function
 * interface so the WASM kernels can replace them without touching the model.
 */
import type { Buf } from "./buf.js";

export function matmulForward(out: Buf, inp: Buf, w: Buf, N: number, I: number, O: number): void {
  // 4x4 register tile: 4 input rows x 4 weight rows share 8 loads per 16 multiply-adds
  const N4 = N - (N % 4);
  const O4 = O - (O % 4);
  for (let n = 0; n < N4; n += 4) {
    const x0 = n * I;
    const x1 = x0 + I;
    const x2 = x1 + I;
    const x3 = x2 + I;
    for (let o = 0; o < O4; o += 4) {
      const w0 = o * I;
      const w1 = w0 + I;
      const w2 = w1 + I;
      const w3 = w2 + I;
      let a00 = 0,
        a01 = 0,
        a02 = 0,
        a03 = 0,
        a10 = 0,
        a11 = 0,
        a12 = 0,
        a13 = 0;
      let a20 = 0,
        a21 = 0,
        a22 = 0,
        a23 = 0,
        a30 = 0,
        a31 = 0,
        a32 = 0,
        a33 = 0;
      for (let i = 0; i < I; i++) {
        const p0 = w[w0 + i];
        const p1 = w[w1 + i];
        const p2 = w[w2 + i];
        const p3 = w[w3 + i];
        const q0 = inp[x0 + i];
        const q1 = inp[x1 + i];
        const q2 = inp[x2 + i];
        const q3 = inp[x3 + i];
        a00 += q0 * p0;
        a01 += q0 * p1;
        a02 += q0 * p2;
        a03 += q0 * p3;
        a10 += q1 * p0;
        a11 += q1 * p1;
        a12 += q1 * p2;
        a13 += q1 * p3;
        a20 += q2 * p0;
        a21 += q2 * p1;
        a22 += q2 * p2;
        a23 += q2 * p3;
        a30 += q3 * p0;
        a31 += q3 * p1;
        a32 += q3 * p2;
        a33 += q3 * p3;
      }
      let r = n * O + o;
      out[r] = a00;
      out[r + 1] = a01;
      out[r + 2] = a02;
      out[r + 3] = a03;
      r += O;
      out[r] = a10;
      out[r + 1] = a11;
      out[r + 2] = a12;
      out[r + 3] = a13;
      r += O;
      out[r] = a20;
      out[r + 1] = a21;
      out[r + 2] = a22;
      out[r + 3] = a23;
      r += O;
      out[r] = a30;
      out[r + 1] = a31;
      out[r + 2] = a32;
      out[r + 3] = a33;
    }
    for (let o = O4; o < O; o++)
      for (let k = 0; k < 4; k++) out[(n + k) * O + o] = dotRow(inp, (n + k) * I, w, o * I, I);
  }
  for (let n = N4; n < N; n++) for (let o = 0; o < O; o++) out[n * O + o] = dotRow(inp, n * I, w, o * I, I);
}

function dotRow(a: Buf, ao: number, b: Buf, bo: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += a[ao + i] * b[bo + i];
  return s;
}

/**
 * Accumulates (+=) into dinp (N, I) and dw (O, I):
 *   dinp = dout @ w,  dw = dout^T @ inp
 * `dinp` may be null when the input needs no gradient (e.g. nothing upstream).
 * Both products are blocked by 4 (4 weight rows / 4 input rows per pass) so each output element
 * is loaded and stored once per 4 multiply-adds.
 */
export function matmulBackward(
  dinp: Buf | null,
  dw: Buf | null,
  dout: Buf,
  inp: Buf,
  w: Buf,
  N: number,
  I: number,
  O: number,
): void {
  if (dinp) matmulBackwardInput(dinp, dout, w, N, I, O);
  if (dw) matmulBackwardWeight(dw, dout, inp, N, I, O);
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
      for (let i = 0; i < I; i++)
        dinp[di + i] += d0 * w[w0 + i] + d1 * w[w1 + i] + d2 * w[w2 + i] + d3 * w[w3 + i];
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
      for (let i = 0; i < I; i++)
        dw[wo + i] += d0 * inp[x0 + i] + d1 * inp[x1 + i] + d2 * inp[x2 + i] + d3 * inp[x3 + i];
    }
    for (; n < N; n++) {
      const d = dout[n * O + o];
      const xi = n * I;
      for (let i = 0; i < I; i++) dw[wo + i] += d * inp[xi + i];
    }
  }
}
