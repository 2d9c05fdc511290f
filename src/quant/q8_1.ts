/**
 * Q8_1: blocks of 32, 36 bytes: f16 d, f16 s = d * sum(q), then 32 int8 quants. Only an activation
 * format: ggml quantizes x to Q8_1 for dot products with Q4_1 and Q5_1 weights (the stored s folds the
 * weight block's min into one multiply).
 */
import { fround, roundf } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";

export const QK8_1 = 32;
export const Q8_1_BYTES = 36;

/** Byte-identical to ggml quantize_row_q8_1_ref. */
export function quantizeRowQ8_1(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK8_1; b++) {
    const x = srcOff + b * QK8_1;
    const o = dstOff + b * Q8_1_BYTES;
    let amax = 0;
    for (let j = 0; j < QK8_1; j++) amax = Math.max(amax, Math.abs(src[x + j]));
    const d = fround(amax / 127);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    let sum = 0;
    for (let j = 0; j < QK8_1; j++) {
      const q = roundf(fround(src[x + j] * id));
      dst[o + 4 + j] = q & 0xff;
      sum += q;
    }
    writeF16(dst, o + 2, fround(sum * d));
  }
}

export function dequantizeRowQ8_1(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK8_1; b++) {
    const o = srcOff + b * Q8_1_BYTES;
    const d = readF16(src, o);
    for (let j = 0; j < QK8_1; j++) dst[dstOff + b * QK8_1 + j] = ((src[o + 4 + j] << 24) >> 24) * d;
  }
}
