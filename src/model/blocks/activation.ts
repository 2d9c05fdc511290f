/** Scalar gate activations in float32 steps (the plain-TS operator sets and the ggml-order reference). */
const f = Math.fround;

/** silu(x) = x / (1 + e^-x), in float. */
export function silu(x: number): number {
  return f(x / f(1 + f(Math.exp(-x))));
}

const SQRT_2_OVER_PI = f(0.79788456080286535587989211986876);
const GELU_COEF_A = f(0.044715);

/** GELU, tanh approximation, in float: 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))). */
export function geluTanh(x: number): number {
  const inner = f(f(SQRT_2_OVER_PI * x) * f(1 + f(f(GELU_COEF_A * x) * x)));
  return f(f(0.5 * x) * f(1 + f(Math.tanh(inner))));
}
