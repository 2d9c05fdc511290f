/**
 * Q6_K: super-blocks of 256 weights, 210 bytes: 128 bytes ql (low nibbles), 64 bytes qh (2 high
 * bits), 16 int8 scales (one per 16 weights), f16 d. In each 128-weight half h and l in 0..31:
 * weights l, l+32, l+64, l+96 take low nibbles from ql[64h+l] lo, ql[64h+32+l] lo, ql[64h+l] hi,
 * ql[64h+32+l] hi and high bits from qh[32h+l] bits 0-1, 2-3, 4-5, 6-7. x = d * sc * (q - 32).
 */
import { fround, nearestInt, signedMax, toInt8, GROUP_MAX_EPS } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";
import { makeQxQuants } from "./kquant_search.js";
import { QK_K, Q8_K_BYTES, Q8_K_QS, q8kScale } from "./q8_k.js";

export const Q6_K_BYTES = 210;
const QH = 128;
const SC = 192;
const D = 208;

const L = new Int8Array(QK_K);
const scales = new Float32Array(16);

/**
 * Byte-identical to ggml quantize_row_q6_K_ref: per 16 weights make_qx_quants(nmax 32, weights x^2),
 * scales quantized to int8 against the super-block's largest-magnitude scale, then requantized.
 */
export function quantizeRowQ6_K(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_K; b++) {
    const x = srcOff + b * QK_K;
    const o = dstOff + b * Q6_K_BYTES;
    for (let ib = 0; ib < 16; ib++) scales[ib] = makeQxQuants(16, 32, src, x + 16 * ib, L, 16 * ib);
    const maxScale = signedMax(scales, 0, 16);
    if (Math.abs(maxScale) < GROUP_MAX_EPS) {
      dst.fill(0, o, o + Q6_K_BYTES);
      continue;
    }
    const iscale = fround(-128 / maxScale);
    writeF16(dst, o + D, fround(1 / iscale));
    for (let ib = 0; ib < 16; ib++)
      dst[o + SC + ib] = toInt8(Math.min(127, nearestInt(fround(iscale * scales[ib])))) & 0xff;
    const dAll = readF16(dst, o + D);
    for (let j = 0; j < 16; j++) {
      const d = fround(dAll * ((dst[o + SC + j] << 24) >> 24));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround(src[x + 16 * j + ii] / d));
        L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + QH + 32 * h;
      const Lb = 128 * h;
      for (let l = 0; l < 32; l++) {
        const q1 = L[Lb + l];
        const q2 = L[Lb + l + 32];
        const q3 = L[Lb + l + 64];
        const q4 = L[Lb + l + 96];
        dst[ql + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        dst[ql + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        dst[qh + l] =
          ((q1 >> 4) & 3) | (((q2 >> 4) & 3) << 2) | (((q3 >> 4) & 3) << 4) | (((q4 >> 4) & 3) << 6);
      }
    }
  }
}

/** The 6-bit quant (0..63) of weight 128h + 32k + l (k 0..3) in the block at o. */
function q6(b: Uint8Array, o: number, h: number, k: number, l: number): number {
  const lo = b[o + 64 * h + l + (k & 1) * 32];
  const nib = k < 2 ? lo & 0xf : lo >>> 4;
  return nib | (((b[o + QH + 32 * h + l] >>> (2 * k)) & 3) << 4);
}

export function dequantizeRowQ6_K(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOff + b * Q6_K_BYTES;
    const d = readF16(src, o + D);
    const y = dstOff + b * QK_K;
    for (let h = 0; h < 2; h++) {
      for (let k = 0; k < 4; k++) {
        for (let l = 0; l < 32; l++) {
          const sc = (src[o + SC + 8 * h + 2 * k + (l >> 4)] << 24) >> 24;
          dst[y + 128 * h + 32 * k + l] = fround(d * sc) * (q6(src, o, h, k, l) - 32);
        }
      }
    }
  }
}

const aux32 = new Int32Array(8);
const sums = new Float32Array(8);

/** ggml_vec_dot_q6_K_q8_K (generic): exact integer lanes, then 8 float lane sums as ggml. */
export function vecDotQ6_KQ8_K(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  sums.fill(0);
  for (let b = 0; b < n / QK_K; b++) {
    const ox = xOff + b * Q6_K_BYTES;
    const oy = yOff + b * Q8_K_BYTES;
    aux32.fill(0);
    for (let h = 0; h < 2; h++) {
      for (let k = 0; k < 4; k++) {
        for (let l = 0; l < 32; l++) {
          const i = 128 * h + 32 * k + l;
          const sc = (x[ox + SC + (i >> 4)] << 24) >> 24;
          const a = (y[oy + Q8_K_QS + i] << 24) >> 24;
          aux32[l & 7] += sc * (a * (q6(x, ox, h, k, l) - 32));
        }
      }
    }
    const d = fround(readF16(x, ox + D) * q8kScale(y, oy));
    for (let l = 0; l < 8; l++) sums[l] = sums[l] + fround(d * fround(aux32[l]));
  }
  let sumf = 0;
  for (let l = 0; l < 8; l++) sumf = fround(sumf + sums[l]);
  return sumf;
}
