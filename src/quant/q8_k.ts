/**
 * Q8_K: super-blocks of 256, 292 bytes: f32 d, 256 int8 quants, 16 int16 bsums (sum of each group
 * of 16 quants). x = d * q. Only an activation format: ggml quantizes x to Q8_K for dot products with
 * every K-quant; the bsums let the min terms of Q2_K/Q4_K/Q5_K be applied per group.
 */
import { fround, nearestInt } from "./cfloat.js";
import { readF32, writeF32, readI16, writeI16 } from "./le.js";

export const QK_K = 256;
export const Q8_K_BYTES = 292;
export const Q8_K_QS = 4;
export const Q8_K_BSUMS = 260;

/**
 * Byte-identical to ggml quantize_row_q8_K_ref (which every x86 build also uses for activations):
 * iscale = -127/max with max the signed value of largest magnitude, q = min(127, nearest(iscale*x)),
 * d = 1/iscale.
 */
export function quantizeRowQ8_K(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_K; b++) {
    const x = srcOff + b * QK_K;
    const o = dstOff + b * Q8_K_BYTES;
    let max = 0;
    let amax = 0;
    for (let j = 0; j < QK_K; j++) {
      const ax = Math.abs(src[x + j]);
      if (ax > amax) {
        amax = ax;
        max = src[x + j];
      }
    }
    if (!amax) {
      dst.fill(0, o, o + Q8_K_BYTES - 32); // d and qs; bsums are left as they were, like ggml
      continue;
    }
    const iscale = fround(-127 / max);
    for (let j = 0; j < QK_K; j++)
      dst[o + Q8_K_QS + j] = Math.min(127, nearestInt(fround(iscale * src[x + j]))) & 0xff;
    for (let g = 0; g < 16; g++) {
      let sum = 0;
      for (let i = 0; i < 16; i++) sum += (dst[o + Q8_K_QS + 16 * g + i] << 24) >> 24;
      writeI16(dst, o + Q8_K_BSUMS + 2 * g, sum);
    }
    writeF32(dst, o, fround(1 / iscale));
  }
}

export function dequantizeRowQ8_K(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOff + b * Q8_K_BYTES;
    const d = readF32(src, o);
    for (let j = 0; j < QK_K; j++) dst[dstOff + b * QK_K + j] = d * ((src[o + Q8_K_QS + j] << 24) >> 24);
  }
}

/** bsums[g] of the Q8_K block at byte offset o. */
export function q8kBsum(y: Uint8Array, o: number, g: number): number {
  return readI16(y, o + Q8_K_BSUMS + 2 * g);
}

/** d of the Q8_K block at byte offset o. */
export function q8kScale(y: Uint8Array, o: number): number {
  return readF32(y, o);
}
