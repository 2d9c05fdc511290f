/**
 * Gated DeltaNet linear attention (qwen35), one sequence's tokens, after the input products:
 *   qkv [nTok][ch] (ch = 2 nK dK + nV dV) -> causal depthwise conv (width W; the last W - 1 inputs
 *   are the state's conv rows) -> SiLU -> q [nK][dK], k [nK][dK], v [nV][dV];
 *   q, k L2-normalised per head: x / sqrt(sum x^2 + eps) (as ggml: rms_norm(eps / n) / sqrt(n));
 *   per value head h (key head h % nK), state M [dV][dK] (M[j][i] = S[i][j]):
 *     M *= exp(g_h); d_j = (v_j - M[j] . k) * beta_h; M[j] += d_j k; o_j = (M[j] . q) / sqrt(dV)
 *   y = RMSNorm(o_h) * normW * silu(z_h) per head.
 * g = softplus(alpha + dtBias) * a and beta = sigmoid(beta) come in precomputed per token and head.
 * Sequential recurrence (llama.cpp's fused / autoregressive order); floats as ggml's ops.
 */
import type { RecurrentState } from "../../kv/recurrent.js";
import type { DeltaNetConfig } from "../arch/config.js";

const f = Math.fround;

function silu(x: number): number {
  return f(x / f(1 + f(Math.exp(-x))));
}

/** In place: each of `nHeads` rows of n floats (at off) scaled to unit L2 norm (eps under the root). */
function l2NormHeads(x: Float32Array, off: number, nHeads: number, n: number, eps: number): void {
  const epsN = f(eps / n);
  const post = f(1 / f(Math.sqrt(n)));
  for (let h = 0; h < nHeads; h++) {
    const o = off + h * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += f(x[o + i] * x[o + i]);
    const scale = f(1 / f(Math.sqrt(f(f(sum / n) + epsN))));
    for (let i = 0; i < n; i++) x[o + i] = f(f(x[o + i] * scale) * post);
  }
}

export function deltaNetStep(
  d: DeltaNetConfig,
  state: RecurrentState,
  conv: Float32Array,
  normW: Float32Array,
  eps: number,
  qkv: Float32Array,
  qkvOff: number,
  z: Float32Array,
  zOff: number,
  g: Float32Array,
  beta: Float32Array,
  gbOff: number,
  nTok: number,
  y: Float32Array,
  yOff: number,
): void {
  const W = d.convWidth;
  const R = W - 1;
  const kDim = d.nKHeads * d.headK;
  const ch = 2 * kDim + d.nVHeads * d.headV;
  const dK = d.headK;
  const dV = d.headV;
  // Causal conv over [state rows; qkv rows], then SiLU.
  const win = new Float32Array((R + nTok) * ch);
  win.set(state.conv);
  win.set(qkv.subarray(qkvOff, qkvOff + nTok * ch), R * ch);
  const xc = new Float32Array(nTok * ch);
  for (let t = 0; t < nTok; t++)
    for (let i = 0; i < ch; i++) {
      let sum = 0;
      for (let k = 0; k < W; k++) sum = f(sum + f(win[(t + k) * ch + i] * conv[i * W + k]));
      xc[t * ch + i] = silu(sum);
    }
  state.conv.set(win.subarray(nTok * ch, (nTok + R) * ch));

  const M = state.ssm;
  const scale = f(1 / f(Math.sqrt(dV)));
  const delta = new Float32Array(dV);
  const o = new Float32Array(dV);
  for (let t = 0; t < nTok; t++) {
    const row = t * ch;
    l2NormHeads(xc, row, d.nKHeads, dK, eps);
    l2NormHeads(xc, row + kDim, d.nKHeads, dK, eps);
    for (let h = 0; h < d.nVHeads; h++) {
      const kh = d.groupedHeads ? Math.floor(h / (d.nVHeads / d.nKHeads)) : h % d.nKHeads;
      const q = row + kh * dK;
      const k = row + kDim + kh * dK;
      const v = row + 2 * kDim + h * dV;
      const m = h * dV * dK;
      const decay = f(Math.exp(g[gbOff + t * d.nVHeads + h]));
      const b = beta[gbOff + t * d.nVHeads + h];
      for (let i = 0; i < dV * dK; i++) M[m + i] = f(M[m + i] * decay);
      for (let j = 0; j < dV; j++) {
        let s = 0;
        for (let i = 0; i < dK; i++) s += M[m + j * dK + i] * xc[k + i];
        delta[j] = f(f(xc[v + j] - f(s)) * b);
      }
      for (let j = 0; j < dV; j++)
        for (let i = 0; i < dK; i++) M[m + j * dK + i] = f(M[m + j * dK + i] + f(xc[k + i] * delta[j]));
      for (let j = 0; j < dV; j++) {
        let s = 0;
        for (let i = 0; i < dK; i++) s += M[m + j * dK + i] * xc[q + i];
        o[j] = f(f(s) * scale);
      }
      // Gated RMSNorm of this head's output.
      let ss = 0;
      for (let j = 0; j < dV; j++) ss += f(o[j] * o[j]);
      const rs = f(1 / f(Math.sqrt(f(f(ss / dV) + f(eps)))));
      const yo = yOff + t * d.nVHeads * dV + h * dV;
      const zo = zOff + t * d.nVHeads * dV + h * dV;
      for (let j = 0; j < dV; j++) y[yo + j] = f(f(f(o[j] * rs) * normW[j]) * silu(z[zo + j]));
    }
  }
}
