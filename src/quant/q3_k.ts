/**
 * Q3_K: super-blocks of 256 weights, 110 bytes: 32 bytes hmask (high bit), 64 bytes of 2-bit low
 * quants, 12 bytes of sixteen 6-bit scales, f16 d. Weight i = 128c + 32j + l has low bits
 * (qs[32c+l] >> 2j) & 3 and high bit hmask[l] bit 4c+j; q = low - (high ? 0 : 4) in -4..3.
 * Scale g (per 16 weights): low nibble from byte g (g<8) or high nibble of byte g-8, top 2 bits from
 * byte 8 + g%4 at bit 2*(g/4); stored biased by 32. x = d * (sc - 32) * q.
 */
import { fround, nearestInt, signedMax, toInt8 } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";
import { makeQ3Quants } from "./kquant_search.js";
import { QK_K, Q8_K_BYTES, Q8_K_QS, q8kScale } from "./q8_k.js";

export const Q3_K_BYTES = 110;
const QS = 32;
const SC = 96;
const D = 108;

/** Signed scale g (-32..31) of the Q3_K block at o. */
export function q3kScale(b: Uint8Array, o: number, g: number): number {
  const lo = g < 8 ? b[o + SC + g] & 0xf : b[o + SC + g - 8] >>> 4;
  const hi = (b[o + SC + 8 + (g & 3)] >>> (2 * (g >> 2))) & 3;
  return (lo | (hi << 4)) - 32;
}

/** Signed quant (-4..3) of weight i in the Q3_K block at o. */
function q3(b: Uint8Array, o: number, i: number): number {
  const l = i & 31;
  const j = (i >> 5) & 3;
  const c = i >> 7;
  const low = (b[o + QS + 32 * c + l] >>> (2 * j)) & 3;
  return b[o + l] & (1 << (4 * c + j)) ? low : low - 4;
}

const L = new Int8Array(QK_K);
const scales = new Float32Array(16);

/**
 * Byte-identical to ggml quantize_row_q3_K_ref: make_q3_quants (nmax 4, x^2-weighted refinement) per
 * 16 weights, 6-bit signed scales against the largest-magnitude scale, requantize, pack.
 */
export function quantizeRowQ3_K(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_K; b++) {
    const x = srcOff + b * QK_K;
    const o = dstOff + b * Q3_K_BYTES;
    for (let j = 0; j < 16; j++) scales[j] = makeQ3Quants(16, 4, src, x + 16 * j, L, 16 * j);
    const maxScale = signedMax(scales, 0, 16);
    dst.fill(0, o + SC, o + SC + 12);
    if (maxScale) {
      const iscale = fround(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        let l = toInt8(nearestInt(fround(iscale * scales[j])));
        l = Math.max(-32, Math.min(31, l)) + 32;
        if (j < 8) dst[o + SC + j] = l & 0xf;
        else dst[o + SC + j - 8] |= (l & 0xf) << 4;
        dst[o + SC + 8 + (j & 3)] |= (l >> 4) << (2 * (j >> 2));
      }
      writeF16(dst, o + D, fround(1 / iscale));
    } else {
      writeF16(dst, o + D, 0);
    }
    const dAll = readF16(dst, o + D);
    for (let j = 0; j < 16; j++) {
      const d = fround(dAll * q3kScale(dst, o, j));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround(src[x + 16 * j + ii] / d));
        L[16 * j + ii] = Math.max(-4, Math.min(3, l)) + 4;
      }
    }
    dst.fill(0, o, o + 32);
    for (let i = 0; i < QK_K; i++) {
      // High bit of weight i goes to hmask[i % 32], bit i / 32 (= 4c + j for i = 128c + 32j + l).
      if (L[i] > 3) {
        dst[o + (i & 31)] |= 1 << (i >> 5);
        L[i] -= 4;
      }
    }
    for (let c = 0; c < 2; c++) {
      for (let l = 0; l < 32; l++) {
        const i = 128 * c + l;
        dst[o + QS + 32 * c + l] = L[i] | (L[i + 32] << 2) | (L[i + 64] << 4) | (L[i + 96] << 6);
      }
    }
  }
}

export function dequantizeRowQ3_K(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOff + b * Q3_K_BYTES;
    const dAll = readF16(src, o + D);
    const y = dstOff + b * QK_K;
    for (let g = 0; g < 16; g++) {
      const dl = fround(dAll * q3kScale(src, o, g));
      for (let k = 0; k < 16; k++) dst[y + 16 * g + k] = dl * q3(src, o, 16 * g + k);
    }
  }
}

const aux32 = new Int32Array(8);
const sums = new Float32Array(8);

/** ggml_vec_dot_q3_K_q8_K (generic): exact integer lanes, then 8 float lane sums as ggml. */
export function vecDotQ3_KQ8_K(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  sums.fill(0);
  for (let b = 0; b < n / QK_K; b++) {
    const ox = xOff + b * Q3_K_BYTES;
    const oy = yOff + b * Q8_K_BYTES;
    aux32.fill(0);
    for (let g = 0; g < 16; g++) {
      const sc = q3kScale(x, ox, g);
      for (let k = 0; k < 16; k++) {
        const i = 16 * g + k;
        aux32[k & 7] += sc * (((y[oy + Q8_K_QS + i] << 24) >> 24) * q3(x, ox, i));
      }
    }
    const d = fround(readF16(x, ox + D) * q8kScale(y, oy));
    for (let l = 0; l < 8; l++) sums[l] = sums[l] + fround(d * fround(aux32[l]));
  }
  let sumf = 0;
  for (let l = 0; l < 8; l++) sumf = fround(sumf + sums[l]);
  return sumf;
}
