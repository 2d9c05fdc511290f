/**
 * Q5_0: blocks of 32 weights, 22 bytes: f16 scale d, u32 qh (bit j = 5th bit of element j), then 16
 * bytes of low nibbles (byte j: element j low, element j+16 high). x = d * (q - 16), q in 0..31.
 */
import { fround, signedMax, toInt8 } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";
import { readU32, writeU32 } from "./le.js";
import { QK8_0, Q8_0_BYTES } from "./q8_0.js";

export const QK5_0 = 32;
export const Q5_0_BYTES = 22;

/** Byte-identical to ggml quantize_row_q5_0_ref: d = max/-16, q = min(31, trunc(x/d + 16.5)). */
export function quantizeRowQ5_0(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK5_0; b++) {
    const x = srcOff + b * QK5_0;
    const o = dstOff + b * Q5_0_BYTES;
    const max = signedMax(src, x, QK5_0);
    const d = fround(max / -16);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(31, toInt8(Math.trunc(fround(fround(src[x + j] * id) + 16.5)))) & 0xff;
      const q1 = Math.min(31, toInt8(Math.trunc(fround(fround(src[x + 16 + j] * id) + 16.5)))) & 0xff;
      dst[o + 6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >>> 4) << j;
      qh |= ((q1 & 0x10) >>> 4) << (j + 16);
    }
    writeU32(dst, o + 2, qh);
  }
}

export function dequantizeRowQ5_0(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK5_0; b++) {
    const o = srcOff + b * Q5_0_BYTES;
    const d = readF16(src, o);
    const qh = readU32(src, o + 2);
    const y = dstOff + b * QK5_0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j];
      dst[y + j] = (((q & 0x0f) | (((qh >>> j) << 4) & 0x10)) - 16) * d;
      dst[y + j + 16] = (((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) - 16) * d;
    }
  }
}

/** ggml_vec_dot_q5_0_q8_0 (generic): sumf += (dx*dy) * sumi per block, in float. */
export function vecDotQ5_0Q8_0(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  let sumf = 0;
  for (let b = 0; b < n / QK8_0; b++) {
    const ox = xOff + b * Q5_0_BYTES;
    const oy = yOff + b * Q8_0_BYTES;
    const qh = readU32(x, ox + 2);
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      const q = x[ox + 6 + j];
      sumi += (((q & 0x0f) | (((qh >>> j) << 4) & 0x10)) - 16) * ((y[oy + 2 + j] << 24) >> 24);
      sumi += (((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) - 16) * ((y[oy + 18 + j] << 24) >> 24);
    }
    sumf = fround(sumf + fround(fround(readF16(x, ox) * readF16(y, oy)) * sumi));
  }
  return sumf;
}
