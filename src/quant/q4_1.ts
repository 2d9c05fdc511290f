/**
 * Q4_1: blocks of 32 weights, 20 bytes: f16 scale d, f16 min m, then 16 bytes of nibbles (byte j:
 * element j low, element j+16 high). x = d * q + m, q in 0..15.
 */
import { fround, toInt8 } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";
import { QK8_1, Q8_1_BYTES } from "./q8_1.js";

const FLT_MAX = 3.4028234663852886e38;

export const QK4_1 = 32;
export const Q4_1_BYTES = 20;

/** Byte-identical to ggml quantize_row_q4_1_ref: d = (max-min)/15, q = min(15, trunc((x-min)/d + 0.5)). */
export function quantizeRowQ4_1(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK4_1; b++) {
    const x = srcOff + b * QK4_1;
    const o = dstOff + b * Q4_1_BYTES;
    let min = FLT_MAX; // ggml starts from +-FLT_MAX
    let max = -FLT_MAX;
    for (let j = 0; j < QK4_1; j++) {
      const v = src[x + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fround(fround(max - min) / 15);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    for (let j = 0; j < 16; j++) {
      const x0 = fround(fround(src[x + j] - min) * id);
      const x1 = fround(fround(src[x + 16 + j] - min) * id);
      const q0 = Math.min(15, toInt8(Math.trunc(fround(x0 + 0.5))));
      const q1 = Math.min(15, toInt8(Math.trunc(fround(x1 + 0.5))));
      dst[o + 4 + j] = (q0 & 0xff) | ((q1 << 4) & 0xff);
    }
  }
}

export function dequantizeRowQ4_1(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK4_1; b++) {
    const o = srcOff + b * Q4_1_BYTES;
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    const y = dstOff + b * QK4_1;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j];
      dst[y + j] = fround((q & 0x0f) * d) + m;
      dst[y + j + 16] = fround((q >>> 4) * d) + m;
    }
  }
}

/** ggml_vec_dot_q4_1_q8_1 (generic): sumf += (dx*dy)*sumi + mx*sy per block, in float. */
export function vecDotQ4_1Q8_1(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  let sumf = 0;
  for (let b = 0; b < n / QK8_1; b++) {
    const ox = xOff + b * Q4_1_BYTES;
    const oy = yOff + b * Q8_1_BYTES;
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      const q = x[ox + 4 + j];
      sumi += (q & 0x0f) * ((y[oy + 4 + j] << 24) >> 24);
      sumi += (q >>> 4) * ((y[oy + 20 + j] << 24) >> 24);
    }
    const t = fround(fround(readF16(x, ox) * readF16(y, oy)) * sumi);
    sumf = fround(sumf + fround(t + fround(readF16(x, ox + 2) * readF16(y, oy + 2))));
  }
  return sumf;
}
