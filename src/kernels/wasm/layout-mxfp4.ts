/**
 * MXFP4 in the layout of kernels-src/assembly/iq4.ts, per 4-row group and 32 columns 68 B (the
 * file's 4 x 17 B): e[4] (E8M0 byte of row ri at ri) | 4 chunks of 16 B, chunk m holding file byte
 * qs[4m + c] of row ri at byte 4 + 16m + 4ri + c (the Q4_0 int8-dot chunk order).
 * Rows are read back with ggml's dequantization formula (bit-identical to src/quant/mxfp4.ts).
 */
import { FP4_VALUES, MXFP4_BYTES, e8m0Half } from "../../quant/mxfp4.js";

export const MXFP4_GROUP_BYTES = 68;

export function repackMXFP4(
  src: Uint8Array,
  rows: number,
  cols: number,
  rowBytes: number,
  dst: Uint8Array,
): void {
  const nb = cols / 32;
  for (let r = 0; r < rows; r++) {
    const ri = r & 3;
    for (let b = 0; b < nb; b++) {
      const o = ((r >> 2) * nb + b) * MXFP4_GROUP_BYTES;
      const s = r * rowBytes + b * MXFP4_BYTES;
      dst[o + ri] = src[s]!;
      for (let c = 0; c < 16; c++) dst[o + 4 + 16 * (c >> 2) + 4 * ri + (c & 3)] = src[s + 1 + c]!;
    }
  }
}

/** Row `row` of a repacked MXFP4 matrix as f32, as src/quant dequantizes. */
export function unpackMXFP4Row(p: Uint8Array, cols: number, row: number, out: Float32Array): void {
  const g = row >> 2;
  const ri = row & 3;
  const fr = Math.fround;
  const nb = cols / 32;
  for (let b = 0; b < nb; b++) {
    const o = (g * nb + b) * MXFP4_GROUP_BYTES;
    const d = e8m0Half(p[o + ri]!);
    for (let c = 0; c < 16; c++) {
      const v = p[o + 4 + 16 * (c >> 2) + 4 * ri + (c & 3)]!;
      out[b * 32 + c] = fr(FP4_VALUES[v & 15]! * d);
      out[b * 32 + c + 16] = fr(FP4_VALUES[v >> 4]! * d);
    }
  }
}
