/**
 * Q5_1: blocks of 32 weights, 24 bytes: f16 scale d, f16 min m, u32 qh (bit j = 5th bit of element
 * j), then 16 bytes of low nibbles (byte j: element j low, element j+16 high). x = d * q + m.
 */
import { fround } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";
import { readU32, writeU32 } from "./le.js";
import { QK8_1, Q8_1_BYTES } from "./q8_1.js";

const FLT_MAX = 3.4028234663852886e38;

export const QK5_1 = 32;
export const Q5_1_BYTES = 24;

/** Byte-identical to ggml quantize_row_q5_1_ref: d = (max-min)/31, q = uint8(trunc((x-min)/d + 0.5)). */
export function quantizeRowQ5_1(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK5_1; b++) {
    const x = srcOff + b * QK5_1;
    const o = dstOff + b * Q5_1_BYTES;
    let min = FLT_MAX;
    let max = -FLT_MAX;
    for (let j = 0; j < QK5_1; j++) {
      const v = src[x + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fround(fround(max - min) / 31);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      // ggml has no clamp here: (x-min)/d <= 31 by construction.
      const q0 = Math.trunc(fround(fround(fround(src[x + j] - min) * id) + 0.5)) & 0xff;
      const q1 = Math.trunc(fround(fround(fround(src[x + 16 + j] - min) * id) + 0.5)) & 0xff;
      dst[o + 8 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >>> 4) << j;
      qh |= ((q1 & 0x10) >>> 4) << (j + 16);
    }
    writeU32(dst, o + 4, qh);
  }
}

export function dequantizeRowQ5_1(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK5_1; b++) {
    const o = srcOff + b * Q5_1_BYTES;
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    const qh = readU32(src, o + 4);
    const y = dstOff + b * QK5_1;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j];
      dst[y + j] = fround(((q & 0x0f) | (((qh >>> j) << 4) & 0x10)) * d) + m;
      dst[y + j + 16] = fround(((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) * d) + m;
    }
  }
}

/** ggml_vec_dot_q5_1_q8_1 (generic): sumf += (dx*dy)*sumi + mx*sy per block, in float. */
export function vecDotQ5_1Q8_1(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  let sumf = 0;
  for (let b = 0; b < n / QK8_1; b++) {
    const ox = xOff + b * Q5_1_BYTES;
    const oy = yOff + b * Q8_1_BYTES;
    const qh = readU32(x, ox + 4);
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      const q = x[ox + 8 + j];
      sumi += ((q & 0x0f) | (((qh >>> j) << 4) & 0x10)) * ((y[oy + 4 + j] << 24) >> 24);
      sumi += ((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) * ((y[oy + 20 + j] << 24) >> 24);
    }
    const t = fround(fround(readF16(x, ox) * readF16(y, oy)) * sumi);
    sumf = fround(sumf + fround(t + fround(readF16(x, ox + 2) * readF16(y, oy + 2))));
  }
  return sumf;
}
