/**
 * Field decoders of the ggml K-quant blocks that the repacker (repack.ts) needs (ggml-common.h):
 *   Q4_K (144 B / 256): d, dmin fp16, scales[12] (8 6-bit scales + 8 6-bit mins), qs[128]
 *        (per 64 elems: 32 bytes, lo nibbles = first 32, hi = next 32)  value = d*sc*q - dmin*m
 *   Q6_K (210 B / 256): ql[128], qh[64], scales int8[16], d fp16  value = d*sc[i/16]*(q-32)
 */

/** ggml get_scale_min_k4: the j-th 6-bit scale and min of a Q4_K/Q5_K block. */
export function scaleMinK4(b: Uint8Array, o: number, j: number): [number, number] {
  if (j < 4) return [b[o + j]! & 63, b[o + j + 4]! & 63];
  return [
    (b[o + j + 4]! & 0xf) | ((b[o + j - 4]! >> 6) << 4),
    (b[o + j + 4]! >> 4) | ((b[o + j]! >> 6) << 4),
  ];
}

/** Unsigned 4-bit quants (0..15) of the Q4_K block at o, in element order. */
export function q4kQuants(b: Uint8Array, o: number, out: Uint8Array): void {
  for (let k = 0; k < 4; k++)
    for (let l = 0; l < 32; l++) {
      const v = b[o + 16 + 32 * k + l]!;
      out[64 * k + l] = v & 0xf;
      out[64 * k + 32 + l] = v >> 4;
    }
}

/** Unsigned 6-bit quants (0..63, value q-32) of the Q6_K block at o, in element order. */
export function q6kQuants(b: Uint8Array, o: number, out: Uint8Array): void {
  for (let n = 0; n < 2; n++) {
    const ql = o + 64 * n;
    const qh = o + 128 + 32 * n;
    for (let l = 0; l < 32; l++) {
      const h = b[qh + l]!;
      out[128 * n + l] = (b[ql + l]! & 0xf) | ((h & 3) << 4);
      out[128 * n + l + 32] = (b[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4);
      out[128 * n + l + 64] = (b[ql + l]! >> 4) | (((h >> 4) & 3) << 4);
      out[128 * n + l + 96] = (b[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4);
    }
  }
}
