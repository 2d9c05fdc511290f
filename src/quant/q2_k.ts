/**
 * Q2_K: super-blocks of 256 weights, 84 bytes: 16 bytes of scales (low nibble: 4-bit scale, high
 * nibble: 4-bit min, one pair per 16 weights), 64 bytes of 2-bit quants, f16 d, f16 dmin.
 * Weight i = 128c + 32j + l (c 0..1, j 0..3, l 0..31) has quant (qs[32c+l] >> 2j) & 3 and group i>>4.
 * x = d*sc*q - dmin*m.
 */
import { fround, nearestInt } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";
import { makeQkx2Quants } from "./kquant_search.js";
import { QK_K, Q8_K_BYTES, Q8_K_QS, q8kBsum, q8kScale } from "./q8_k.js";

export const Q2_K_BYTES = 84;
const QS = 16;
const D = 80;
const DMIN = 82;

const L = new Uint8Array(QK_K);
const Laux = new Uint8Array(16);
const weights = new Float32Array(16);
const scales = new Float32Array(16);
const mins = new Float32Array(16);

/**
 * Byte-identical to ggml quantize_row_q2_K_ref: make_qkx2_quants per 16 weights (weights |x|, mean
 * absolute error, 15 steps from -0.5), 4-bit scales and mins against the super-block maxima, requantize.
 */
export function quantizeRowQ2_K(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  const q4scale = 15;
  for (let b = 0; b < n / QK_K; b++) {
    const x = srcOff + b * QK_K;
    const o = dstOff + b * Q2_K_BYTES;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(src[x + 16 * j + l]);
      scales[j] = makeQkx2Quants(
        16,
        3,
        src,
        x + 16 * j,
        weights,
        L,
        16 * j,
        mins,
        j,
        Laux,
        fround(-0.5),
        fround(0.1),
        15,
        true,
      );
      if (scales[j] > maxScale) maxScale = scales[j];
      if (mins[j] > maxMin) maxMin = mins[j];
    }
    if (maxScale > 0) {
      const iscale = fround(q4scale / maxScale);
      for (let j = 0; j < 16; j++) dst[o + j] = nearestInt(fround(iscale * scales[j])) & 0xff;
      writeF16(dst, o + D, fround(maxScale / q4scale));
    } else {
      dst.fill(0, o, o + 16);
      writeF16(dst, o + D, 0);
    }
    if (maxMin > 0) {
      const iscale = fround(q4scale / maxMin);
      for (let j = 0; j < 16; j++) dst[o + j] |= nearestInt(fround(iscale * mins[j])) << 4;
      writeF16(dst, o + DMIN, fround(maxMin / q4scale));
    } else {
      writeF16(dst, o + DMIN, 0);
    }
    const dAll = readF16(dst, o + D);
    const dMinAll = readF16(dst, o + DMIN);
    for (let j = 0; j < 16; j++) {
      const d = fround(dAll * (dst[o + j] & 0xf));
      if (!d) continue;
      const dm = fround(dMinAll * (dst[o + j] >>> 4));
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround(fround(src[x + 16 * j + ii] + dm) / d));
        L[16 * j + ii] = Math.max(0, Math.min(3, l));
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

export function dequantizeRowQ2_K(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOff + b * Q2_K_BYTES;
    const d = readF16(src, o + D);
    const min = readF16(src, o + DMIN);
    const y = dstOff + b * QK_K;
    for (let i = 0; i < QK_K; i++) {
      const c = i >> 7;
      const j = (i >> 5) & 3;
      const sc = src[o + (i >> 4)];
      const q = (src[o + QS + 32 * c + (i & 31)] >>> (2 * j)) & 3;
      dst[y + i] = fround(fround(d * (sc & 0xf)) * q) - fround(min * (sc >>> 4));
    }
  }
}

/** ggml_vec_dot_q2_K_q8_K (generic): integer sums per super-block, sumf += dall*isum - dmin*summs. */
export function vecDotQ2_KQ8_K(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  let sumf = 0;
  for (let b = 0; b < n / QK_K; b++) {
    const ox = xOff + b * Q2_K_BYTES;
    const oy = yOff + b * Q8_K_BYTES;
    let summs = 0;
    for (let g = 0; g < 16; g++) summs += q8kBsum(y, oy, g) * (x[ox + g] >>> 4);
    let isum = 0;
    for (let g = 0; g < 16; g++) {
      let isuml = 0;
      for (let k = 0; k < 16; k++) {
        const i = 16 * g + k;
        const q = (x[ox + QS + 32 * (i >> 7) + (i & 31)] >>> (2 * ((i >> 5) & 3))) & 3;
        isuml += ((y[oy + Q8_K_QS + i] << 24) >> 24) * q;
      }
      isum += (x[ox + g] & 0xf) * isuml;
    }
    const yd = q8kScale(y, oy);
    const dall = fround(yd * readF16(x, ox + D));
    const dmin = fround(yd * readF16(x, ox + DMIN));
    sumf = fround(sumf + fround(fround(dall * isum) - fround(dmin * summs)));
  }
  return sumf;
}
