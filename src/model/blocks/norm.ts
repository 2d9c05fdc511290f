/**
 * RMSNorm, computed as ggml does: float squares summed in double, scale = 1/sqrtf(mean + eps) in float,
 * then y = (x * scale) * w with float products.
 */
const f = Math.fround;

/** out[o..o+n] = rmsnorm(x[xo..xo+n]) * w (w optional). `out` may alias `x`. */
export function rmsNorm(
  x: Float32Array,
  xo: number,
  n: number,
  w: Float32Array | undefined,
  eps: number,
  out: Float32Array,
  oo: number,
): void {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += f(x[xo + i] * x[xo + i]);
  // mean and sqrtf in float, then 1.0f / that.
  const scale = f(1 / f(Math.sqrt(f(f(sum / n) + f(eps)))));
  if (w) for (let i = 0; i < n; i++) out[oo + i] = f(x[xo + i] * scale) * w[i];
  else for (let i = 0; i < n; i++) out[oo + i] = x[xo + i] * scale;
}

/** RMSNorm applied to each of `nRows` rows of width n (rows at stride n), in place. */
export function rmsNormRows(
  x: Float32Array,
  nRows: number,
  n: number,
  w: Float32Array | undefined,
  eps: number,
): void {
  for (let r = 0; r < nRows; r++) rmsNorm(x, r * n, n, w, eps, x, r * n);
}
