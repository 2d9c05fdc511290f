/**
 * MXFP4 (OCP microscaling FP4, gpt-oss expert weights): blocks of 32 weights, 17 bytes: one E8M0
 * exponent byte e, then 16 bytes of 4-bit E2M1 codes. Byte j holds element j in its low nibble and
 * element j+16 in its high nibble (as Q4_0). The codes index FP4_VALUES, the E2M1 values doubled
 * so they are integers (0, ±0.5, ±1, ±1.5, ±2, ±3, ±4, ±6 -> 0, ±1, ±2, ±3, ±4, ±6, ±8, ±12), and
 * the scale is correspondingly halved: x = FP4_VALUES[q] * 2^(e - 128).
 * Dot products use Q8_0 activations (ggml's vec_dot_type for MXFP4), as IQ4_NL does.
 */
import { fround } from "./cfloat.js";
import { readF16 } from "./f16.js";
import { QK8_0, Q8_0_BYTES } from "./q8_0.js";

export const QK_MXFP4 = 32;
export const MXFP4_BYTES = 17;

/** ggml kvalues_mxfp4: doubled E2M1 values; codes 8..15 are the negatives of 0..7 (8 is -0). */
export const FP4_VALUES: readonly number[] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

/**
 * 2^(e - 128) as ggml_e8m0_to_fp32_half builds it from bits: exponent field e - 1 for e >= 2, the
 * subnormals 2^-128 and 2^-127 for e = 0, 1 (e = 255 gives +Inf, as ggml's bit pattern does).
 */
export function e8m0Half(e: number): number {
  bits[0] = e < 2 ? 0x00200000 << e : (e - 1) << 23;
  return asFloat[0]!;
}

/** ggml best_index_mxfp4: the first code whose value * d is nearest to x (float arithmetic). */
function bestIndex(x: number, d: number): number {
  let best = 0;
  let bestErr = Math.abs(fround(fround(FP4_VALUES[0]! * d) - x));
  for (let i = 1; i < 16; i++) {
    const err = Math.abs(fround(fround(FP4_VALUES[i]! * d) - x));
    if (err < bestErr) {
      best = i;
      bestErr = err;
    }
  }
  return best;
}

/**
 * Byte-identical to ggml quantize_row_mxfp4_ref (what ggml_quantize_chunk writes; MXFP4 takes no
 * importance weights): e = floor(log2f(amax)) - 2 + 127, so d = 2^(e - 128) puts amax / d in
 * [8, 16) (the largest code is 12), then each value takes its nearest code. log2f is emulated as
 * Math.log2 rounded to float (a correctly rounded log2f); floor only sees that rounding right
 * below a power of two.
 */
export function quantizeRowMXFP4(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_MXFP4; b++) {
    const x = srcOff + b * QK_MXFP4;
    const o = dstOff + b * MXFP4_BYTES;
    let amax = 0;
    for (let j = 0; j < QK_MXFP4; j++) {
      const a = Math.abs(src[x + j]!);
      if (amax < a) amax = a;
    }
    // (uint8_t) of the float: truncation to an integer, then the low byte.
    const e = amax > 0 ? Math.trunc(Math.floor(fround(Math.log2(amax))) - 2 + 127) & 0xff : 0;
    const d = e8m0Half(e);
    dst[o] = e;
    for (let j = 0; j < QK_MXFP4 / 2; j++) {
      const lo = bestIndex(src[x + j]!, d);
      const hi = bestIndex(src[x + QK_MXFP4 / 2 + j]!, d);
      dst[o + 1 + j] = lo | (hi << 4);
    }
  }
}

/** ggml dequantize_row_mxfp4: x = FP4_VALUES[q] * e8m0Half(e) (exact: d is a power of two). */
export function dequantizeRowMXFP4(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_MXFP4; b++) {
    const o = srcOff + b * MXFP4_BYTES;
    const d = e8m0Half(src[o]!);
    const y = dstOff + b * QK_MXFP4;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 1 + j]!;
      dst[y + j] = fround(FP4_VALUES[q & 15]! * d);
      dst[y + j + 16] = fround(FP4_VALUES[q >> 4]! * d);
    }
  }
}

/** ggml_vec_dot_mxfp4_q8_0 (generic): sumf += (dy * dx) * (sumi1 + sumi2) per block, in float. */
export function vecDotMXFP4Q8_0(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  let sumf = 0;
  for (let b = 0; b < n / QK8_0; b++) {
    const ox = xOff + b * MXFP4_BYTES;
    const oy = yOff + b * Q8_0_BYTES;
    const d = fround(readF16(y, oy) * e8m0Half(x[ox]!));
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      const q = x[ox + 1 + j]!;
      sumi += ((y[oy + 2 + j]! << 24) >> 24) * FP4_VALUES[q & 15]!;
      sumi += ((y[oy + 18 + j]! << 24) >> 24) * FP4_VALUES[q >> 4]!;
    }
    sumf = fround(sumf + fround(d * sumi));
  }
  return sumf;
}
