/**
 * Q4_K: super-blocks of 256 weights, 144 bytes: f16 d, f16 dmin, 12 bytes holding eight 6-bit scales
 * and eight 6-bit mins (one pair per 32-weight sub-block), then 128 bytes of nibbles. Within each
 * 64-weight chunk c, byte c*32+l holds weight 64c+l (low nibble) and 64c+32+l (high nibble).
 * x = d*sc[j]*q - dmin*m[j].
 */
import { fround, nearestInt } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";
import { makeQkx2Quants } from "./kquant_search.js";
import { QK_K, Q8_K_BYTES, Q8_K_QS, q8kBsum, q8kScale } from "./q8_k.js";

export const Q4_K_BYTES = 144;

/**
 * Unpack scale/min j (0..7) from the 12-byte K_SCALE block at bytes[o]: j<4 use the low 6 bits of
 * bytes 0..3 (scales) and 4..7 (mins); j>=4 put 4 low bits in byte j+4 and the 2 high bits in the top
 * bits of bytes j-4 (scale) and j (min). Returns scale | (min << 8).
 */
export function getScaleMinK4(j: number, b: Uint8Array, o: number): number {
  if (j < 4) return (b[o + j] & 63) | ((b[o + j + 4] & 63) << 8);
  const sc = (b[o + j + 4] & 0xf) | ((b[o + j - 4] >>> 6) << 4);
  const m = (b[o + j + 4] >>> 4) | ((b[o + j] >>> 6) << 4);
  return sc | (m << 8);
}

/** Pack 6-bit scale ls and min lm for sub-block j into the 12-byte block at bytes[o] (pre-zeroed). */
export function putScaleMinK4(j: number, ls: number, lm: number, b: Uint8Array, o: number): void {
  if (j < 4) {
    b[o + j] = ls;
    b[o + j + 4] = lm;
  } else {
    b[o + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
    b[o + j - 4] |= (ls >>> 4) << 6;
    b[o + j] |= (lm >>> 4) << 6;
  }
}

// Scratch for one super-block (module level: no per-call allocation).
const L = new Uint8Array(QK_K);
const Laux = new Uint8Array(32);
const weights = new Float32Array(32);
const scales = new Float32Array(8);
const mins = new Float32Array(8);

/**
 * Byte-identical to ggml quantize_row_q4_K_ref: per 32-weight sub-block, make_qkx2_quants with
 * weights av|x| + |x| (20 steps from -1.0); scales and mins are then quantized to 6 bits against the
 * super-block maxima and the weights requantized with the rounded scales.
 */
export function quantizeRowQ4_K(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  quantizeRowQxK(src, srcOff, dst, dstOff, n, 15);
}

/** Shared by Q4_K (nmax 15) and Q5_K (nmax 31), which differ only in search parameters and packing. */
export function quantizeRowQxK(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
  nmax: 15 | 31,
): void {
  const bytes = nmax === 15 ? Q4_K_BYTES : 176;
  const rmin = nmax === 15 ? -1 : fround(-0.5);
  const nstep = nmax === 15 ? 20 : 15;
  const rdelta = fround(0.1);
  for (let b = 0; b < n / QK_K; b++) {
    const x = srcOff + b * QK_K;
    const o = dstOff + b * bytes;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = fround(sumX2 + fround(src[x + 32 * j + l] * src[x + 32 * j + l]));
      const avX = fround(Math.sqrt(fround(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = avX + Math.abs(src[x + 32 * j + l]);
      scales[j] = makeQkx2Quants(
        32,
        nmax,
        src,
        x + 32 * j,
        weights,
        L,
        32 * j,
        mins,
        j,
        Laux,
        rmin,
        rdelta,
        nstep,
        false,
      );
      if (scales[j] > maxScale) maxScale = scales[j];
      if (mins[j] > maxMin) maxMin = mins[j];
    }
    const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
    dst.fill(0, o + 4, o + 16);
    for (let j = 0; j < 8; j++) {
      // ggml stores nearest_int into a uint8_t before clamping, so negative values wrap.
      const ls = Math.min(63, nearestInt(fround(invScale * scales[j])) & 0xff);
      const lm = Math.min(63, nearestInt(fround(invMin * mins[j])) & 0xff);
      putScaleMinK4(j, ls, lm, dst, o + 4);
    }
    writeF16(dst, o, fround(maxScale / 63));
    writeF16(dst, o + 2, fround(maxMin / 63));
    const dAll = readF16(dst, o);
    const dMinAll = readF16(dst, o + 2);
    for (let j = 0; j < 8; j++) {
      const sm = getScaleMinK4(j, dst, o + 4);
      const d = fround(dAll * (sm & 0xff));
      if (!d) continue;
      const dm = fround(dMinAll * (sm >>> 8));
      for (let ii = 0; ii < 32; ii++) {
        const l = nearestInt(fround(fround(src[x + 32 * j + ii] + dm) / d));
        L[32 * j + ii] = Math.max(0, Math.min(nmax, l));
      }
    }
    if (nmax === 15) {
      for (let c = 0; c < 4; c++) {
        for (let l = 0; l < 32; l++) dst[o + 16 + 32 * c + l] = L[64 * c + l] | (L[64 * c + 32 + l] << 4);
      }
    } else {
      // Q5_K: qh bit 2c holds the 5th bit of weight 64c+l, bit 2c+1 that of 64c+32+l.
      dst.fill(0, o + 16, o + 48);
      for (let c = 0; c < 4; c++) {
        for (let l = 0; l < 32; l++) {
          let l1 = L[64 * c + l];
          let l2 = L[64 * c + 32 + l];
          if (l1 > 15) {
            l1 -= 16;
            dst[o + 16 + l] |= 1 << (2 * c);
          }
          if (l2 > 15) {
            l2 -= 16;
            dst[o + 16 + l] |= 2 << (2 * c);
          }
          dst[o + 48 + 32 * c + l] = l1 | (l2 << 4);
        }
      }
    }
  }
}

export function dequantizeRowQ4_K(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  dequantizeRowQxK(src, srcOff, dst, dstOff, n, false);
}

/**
 * Q4_K rows, or Q5_K rows (`five`: 32 more bytes, qh, before the nibbles give each weight a 5th
 * bit) to f32, as ggml's dequantize_row_q4_K / q5_K: x = fround(d*sc * q) - fround(dmin*m).
 */
export function dequantizeRowQxK(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
  five: boolean,
): void {
  const bytes = Q4_K_BYTES + (five ? 32 : 0);
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOff + b * bytes;
    const d = readF16(src, o);
    const min = readF16(src, o + 2);
    let y = dstOff + b * QK_K;
    for (let c = 0; c < 4; c++) {
      const sm1 = getScaleMinK4(2 * c, src, o + 4);
      const sm2 = getScaleMinK4(2 * c + 1, src, o + 4);
      const d1 = fround(d * (sm1 & 0xff));
      const m1 = fround(min * (sm1 >>> 8));
      const d2 = fround(d * (sm2 & 0xff));
      const m2 = fround(min * (sm2 >>> 8));
      const q = o + (five ? 48 : 16) + 32 * c;
      if (!five) {
        for (let l = 0; l < 32; l++) dst[y++] = fround(d1 * (src[q + l] & 0xf)) - m1;
        for (let l = 0; l < 32; l++) dst[y++] = fround(d2 * (src[q + l] >>> 4)) - m2;
        continue;
      }
      const u1 = 1 << (2 * c);
      const u2 = 2 << (2 * c);
      for (let l = 0; l < 32; l++)
        dst[y++] = fround(d1 * ((src[q + l] & 0xf) + (src[o + 16 + l] & u1 ? 16 : 0))) - m1;
      for (let l = 0; l < 32; l++)
        dst[y++] = fround(d2 * ((src[q + l] >>> 4) + (src[o + 16 + l] & u2 ? 16 : 0))) - m2;
    }
  }
}

/**
 * Unpack the eight 6-bit scales and mins of a K_SCALE block into sc[0..7] and mn[0..7].
 */
export function unpackScalesK4(b: Uint8Array, o: number, sc: Int32Array, mn: Int32Array): void {
  for (let j = 0; j < 8; j++) {
    const sm = getScaleMinK4(j, b, o);
    sc[j] = sm & 0xff;
    mn[j] = sm >>> 8;
  }
}

const sc8 = new Int32Array(8);
const mn8 = new Int32Array(8);
const aux32 = new Int32Array(8);
const sums = new Float32Array(8);

/**
 * ggml_vec_dot_q4_K_q8_K (generic). The integer part is exact; the float part keeps ggml's order:
 * 8 float lane sums (lane l gets d * aux32[l] per super-block) plus sumf -= dmin*sumi per block, with
 * the lanes added to sumf at the end.
 */
export function vecDotQ4_KQ8_K(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  return vecDotQxKQ8_K(x, xOff, y, yOff, n, false);
}

export function vecDotQxKQ8_K(
  x: Uint8Array,
  xOff: number,
  y: Uint8Array,
  yOff: number,
  n: number,
  q5: boolean,
): number {
  const bytes = q5 ? 176 : Q4_K_BYTES;
  const qsOff = q5 ? 48 : 16;
  sums.fill(0);
  let sumf = 0;
  for (let b = 0; b < n / QK_K; b++) {
    const ox = xOff + b * bytes;
    const oy = yOff + b * Q8_K_BYTES;
    unpackScalesK4(x, ox + 4, sc8, mn8);
    aux32.fill(0);
    for (let c = 0; c < 4; c++) {
      for (let half = 0; half < 2; half++) {
        const j = 2 * c + half; // sub-block of 32
        const scale = sc8[j];
        for (let l = 0; l < 32; l++) {
          const byte = x[ox + qsOff + 32 * c + l];
          let q = half === 0 ? byte & 0xf : byte >>> 4;
          if (q5 && (x[ox + 16 + l] & (1 << j)) !== 0) q += 16;
          const a = (y[oy + Q8_K_QS + 32 * j + l] << 24) >> 24;
          aux32[l & 7] += scale * (a * q);
        }
      }
    }
    let sumi = 0;
    for (let g = 0; g < 16; g++) sumi += q8kBsum(y, oy, g) * mn8[g >> 1];
    const yd = q8kScale(y, oy);
    const d = fround(readF16(x, ox) * yd);
    for (let l = 0; l < 8; l++) sums[l] = sums[l] + fround(d * fround(aux32[l]));
    const dmin = fround(readF16(x, ox + 2) * yd);
    sumf = fround(sumf - fround(dmin * fround(sumi)));
  }
  for (let l = 0; l < 8; l++) sumf = fround(sumf + sums[l]);
  return sumf;
}
