/**
 * Q8_0: blocks of 32 weights, 34 bytes: f16 scale d, then 32 int8 quants. x[i] = d * q[i].
 * Also the activation format ggml pairs with Q4_0, Q5_0 and Q8_0 weights in dot products.
 */
import { fround, roundf } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";

export const QK8_0 = 32;
export const Q8_0_BYTES = 34;

/** Byte-identical to ggml quantize_row_q8_0_ref: d = amax/127, q = roundf(x * (1/d)). */
export function quantizeRowQ8_0(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK8_0; b++) {
    const x = srcOff + b * QK8_0;
    const o = dstOff + b * Q8_0_BYTES;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(src[x + j]));
    const d = fround(amax / 127);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < QK8_0; j++) dst[o + 2 + j] = roundf(fround(src[x + j] * id)) & 0xff;
  }
}

export function dequantizeRowQ8_0(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK8_0; b++) {
    const o = srcOff + b * Q8_0_BYTES;
    const d = readF16(src, o);
    const y = dstOff + b * QK8_0;
    for (let j = 0; j < QK8_0; j++) dst[y + j] = ((src[o + 2 + j] << 24) >> 24) * d;
  }
}

/** ggml_vec_dot_q8_0_q8_0 (generic): per block int dot, then sumf += sumi * (dx*dy) in float. */
export function vecDotQ8_0Q8_0(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  let sumf = 0;
  for (let b = 0; b < n / QK8_0; b++) {
    const ox = xOff + b * Q8_0_BYTES;
    const oy = yOff + b * Q8_0_BYTES;
    let sumi = 0;
    for (let j = 0; j < QK8_0; j++) sumi += ((x[ox + 2 + j] << 24) >> 24) * ((y[oy + 2 + j] << 24) >> 24);
    sumf = fround(sumf + fround(sumi * fround(readF16(x, ox) * readF16(y, oy))));
  }
  return sumf;
}
