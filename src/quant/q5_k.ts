/**
 * Q5_K: super-blocks of 256 weights, 176 bytes: f16 d, f16 dmin, 12-byte 6-bit scales/mins (same
 * packing as Q4_K), 32 bytes qh, 128 bytes of low nibbles. Weight 64c+l takes its low nibble from
 * qs[32c+l] & 0xF and its 5th bit from qh[l] bit 2c; weight 64c+32+l from qs[32c+l] >> 4 and qh[l]
 * bit 2c+1. x = d*sc[j]*q - dmin*m[j], q in 0..31.
 */
import { dequantizeRowQxK, quantizeRowQxK, vecDotQxKQ8_K } from "./q4_k.js";

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
  dequantizeRowQxK(src, srcOff, dst, dstOff, n, true);
}

/** ggml_vec_dot_q5_K_q8_K (generic), same float order as Q4_K's. */
export function vecDotQ5_KQ8_K(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  return vecDotQxKQ8_K(x, xOff, y, yOff, n, true);
}
