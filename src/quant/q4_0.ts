/**
 * Q4_0: blocks of 32 weights, 18 bytes: f16 scale d, then 16 bytes of 4-bit quants. Byte j holds
 * element j in its low nibble and element j+16 in its high nibble. x = d * (q - 8).
 */
import { fround, signedMax, toInt8 } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";
import { QK8_0, Q8_0_BYTES } from "./q8_0.js";

export const QK4_0 = 32;
export const Q4_0_BYTES = 18;

/**
 * Byte-identical to ggml quantize_row_q4_0_ref: d = max/-8 where max is the signed value of largest
 * magnitude (so that value maps exactly to q = 0), q = min(15, trunc(x/d + 8.5)).
 */
export function quantizeRowQ4_0(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK4_0; b++) {
    const x = srcOff + b * QK4_0;
    const o = dstOff + b * Q4_0_BYTES;
    const max = signedMax(src, x, QK4_0);
    const d = fround(max / -8);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < QK4_0 / 2; j++) {
      const x0 = fround(src[x + j] * id);
      const x1 = fround(src[x + 16 + j] * id);
      const q0 = Math.min(15, toInt8(Math.trunc(fround(x0 + 8.5))));
      const q1 = Math.min(15, toInt8(Math.trunc(fround(x1 + 8.5))));
      dst[o + 2 + j] = (q0 & 0xff) | ((q1 << 4) & 0xff);
    }
  }
}

export function dequantizeRowQ4_0(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK4_0; b++) {
    const o = srcOff + b * Q4_0_BYTES;
    const d = readF16(src, o);
    const y = dstOff + b * QK4_0;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j];
      dst[y + j] = ((q & 0x0f) - 8) * d;
      dst[y + j + 16] = ((q >>> 4) - 8) * d;
    }
  }
}

/** ggml_vec_dot_q4_0_q8_0 (generic): sumf += (sumi * dx) * dy per block, in float. */
export function vecDotQ4_0Q8_0(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  let sumf = 0;
  for (let b = 0; b < n / QK8_0; b++) {
    const ox = xOff + b * Q4_0_BYTES;
    const oy = yOff + b * Q8_0_BYTES;
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      const q = x[ox + 2 + j];
      sumi += ((q & 0x0f) - 8) * ((y[oy + 2 + j] << 24) >> 24);
      sumi += ((q >>> 4) - 8) * ((y[oy + 18 + j] << 24) >> 24);
    }
    sumf = fround(sumf + fround(fround(sumi * readF16(x, ox)) * readF16(y, oy)));
  }
  return sumf;
}
