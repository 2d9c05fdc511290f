/**
 * Gated short convolution (lfm2), the part between in_proj and out_proj for one sequence:
 *   bcx [nTok][3 E] = rows of [b; c; x]; bx = b * x;
 *   conv[t][i] = sum_k win[t + k][i] * kernel[i][k] over win = [state rows; bx rows] (width W);
 *   y[t][i] = c[t][i] * conv[t][i];  state <- the last W - 1 rows of win.
 * Sums in float with the kernel taps in order, as ggml_ssm_conv.
 */
import type { RecurrentState } from "../../kv/recurrent.js";

const f = Math.fround;

/** kernel: [E][W] (ggml dims {W, E}); bcx rows at bcxOff; y rows written at yOff. */
export function shortConvStep(
  state: RecurrentState,
  kernel: Float32Array,
  W: number,
  E: number,
  bcx: Float32Array,
  bcxOff: number,
  nTok: number,
  y: Float32Array,
  yOff: number,
): void {
  const R = W - 1;
  // win: [R + nTok][E] = state rows, then this sequence's bx rows.
  const win = new Float32Array((R + nTok) * E);
  win.set(state.conv);
  for (let t = 0; t < nTok; t++) {
    const r = bcxOff + t * 3 * E;
    for (let i = 0; i < E; i++) win[(R + t) * E + i] = f(bcx[r + i] * bcx[r + 2 * E + i]);
  }
  for (let t = 0; t < nTok; t++) {
    const r = bcxOff + t * 3 * E;
    for (let i = 0; i < E; i++) {
      let sum = 0;
      for (let k = 0; k < W; k++) sum = f(sum + f(win[(t + k) * E + i] * kernel[i * W + k]));
      y[yOff + t * E + i] = f(bcx[r + E + i] * sum);
    }
  }
  state.conv.set(win.subarray(nTok * E, (nTok + R) * E));
}
