/**
 * Helpers that reproduce C `float` arithmetic as ggml's scalar code performs it, so our reference
 * quantizers produce the same bytes as ggml's, and the group loops every quantizer shares.
 *
 * Every float32 operation in C rounds its result to float32; JS computes in float64. For +, -, *, /
 * and sqrt of two float32 operands, computing in float64 and rounding once with Math.fround gives the
 * exactly rounded float32 result (float64 has more than 2*24+2 significand bits), so wrapping each C
 * operation in `fround` is exact. ggml-base is built without FMA contraction, which we verified on the
 * shipped binary (no vfmadd instructions), so no fused operations need emulating.
 */

export const fround = Math.fround;

/** C `roundf`: round half away from zero. Exact for float32 inputs (x + 0.5 is exact in float64). */
export function roundf(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/**
 * ggml `nearest_int`: adds 1.5*2^23 in float32 and reads the low mantissa bits, i.e. round half to
 * even, valid for |x| <= 2^22. The float32 sum has unit spacing, so subtracting back is exact.
 */
export function nearestInt(x: number): number {
  return fround(x + 12582912) - 12582912;
}

/** C conversion of an int to int8_t (two's-complement wrap). */
export function toInt8(v: number): number {
  return (v << 24) >> 24;
}

/** ggml GROUP_MAX_EPS (1e-15f): below this a group's absolute max counts as zero. */
export const GROUP_MAX_EPS = fround(1e-15);

/**
 * The value of largest magnitude in x[off..off+n), the first one on ties (ggml's
 * `if (ax > amax) { amax = ax; max = x; }` loops); 0 when every value is 0.
 */
export function signedMax(x: Float32Array, off: number, n: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[off + i]);
    if (ax > amax) {
      amax = ax;
      max = x[off + i];
    }
  }
  return max;
}
