/**
 * Q5_K: super-blocks of 256 weights, 176 bytes: f16 d, f16 dmin, 12-byte 6-bit scales/mins (same
 * packing as Q4_K), 32 bytes qh, 128 bytes of low nibbles. Weight 64c+l takes its low nibble from
 * qs[32c+l] & 0xF and its 5th bit from qh[l] bit 2c; weight 64c+32+l from qs[32c+l] >> 4 and qh[l]
 * bit 2c+1. x = d*sc[j]*q - dmin*m[j], q in 0..31.
 */
import { fround } from "./cfloat.js";
import { readF16 } from "./f16.js";
import { getScaleMinK4, quantizeRowQxK, vecDotQxKQ8_K } from "./q4_k.js";
import { QK_K } from "./q8_k.js";

export const Q5_K_BYTES = 176;

/**
 * Byte-identical to ggml quantize_row_q5_K_ref: as Q4_K with nmax 31 and the candidate search
 * make_qkx2_quants(rmin -0.5, rdelta 0.1, 15 steps).
 */
export function quantizeRowQ5_K(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  quantizeRowQxK(src, srcOff, dst, dstOff, n, 31);
}

export function dequantizeRowQ5_K(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOff + b * Q5_K_BYTES;
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
      const u1 = 1 << (2 * c);
      const u2 = 2 << (2 * c);
      const ql = o + 48 + 32 * c;
      for (let l = 0; l < 32; l++)
        dst[y++] = fround(d1 * ((src[ql + l] & 0xf) + (src[o + 16 + l] & u1 ? 16 : 0))) - m1;
      for (let l = 0; l < 32; l++)
        dst[y++] = fround(d2 * ((src[ql + l] >>> 4) + (src[o + 16 + l] & u2 ? 16 : 0))) - m2;
    }
  }
}

/** ggml_vec_dot_q5_K_q8_K (generic), same float order as Q4_K's. */
export function vecDotQ5_KQ8_K(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  return vecDotQxKQ8_K(x, xOff, y, yOff, n, true);
}
