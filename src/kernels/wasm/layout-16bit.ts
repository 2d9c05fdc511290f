/**
 * F16 and BF16 weights in the kernels' 4-row panel layout (kernels-src/assembly/f16.ts): per
 * group of 4 rows, column-major, the 4 rows' 16-bit values of column c at (g*cols + c)*8 + 2*ri.
 * Same size as the file (rows padded to a multiple of 4 with zeros). repack16 writes it,
 * unpack16 reads one row back as f32 exactly as ggml's row converters do.
 */
import { fp16ToFp32 } from "../../quant/f16.js";
import { bf16ToFp32 } from "../../quant/bf16.js";

/** Repacked bytes of a [rows, cols] 16-bit matrix. */
export function packed16Bytes(rows: number, cols: number): number {
  return Math.ceil(rows / 4) * cols * 8;
}

/** src: ggml row-major 16-bit values (rowBytes per row); dst: zeroed, packed16Bytes long. */
export function repack16(
  src: Uint8Array,
  rows: number,
  cols: number,
  rowBytes: number,
  dst: Uint8Array,
): void {
  for (let r = 0; r < rows; r++) {
    const base = (r >> 2) * cols * 8 + 2 * (r & 3);
    const s = r * rowBytes;
    for (let c = 0; c < cols; c++) {
      dst[base + 8 * c] = src[s + 2 * c]!;
      dst[base + 8 * c + 1] = src[s + 2 * c + 1]!;
    }
  }
}

export function unpack16(bf16: boolean, p: Uint8Array, cols: number, row: number, out: Float32Array): void {
  const base = (row >> 2) * cols * 8 + 2 * (row & 3);
  for (let c = 0; c < cols; c++) {
    const h = p[base + 8 * c]! | (p[base + 8 * c + 1]! << 8);
    out[c] = bf16 ? bf16ToFp32(h) : fp16ToFp32(h);
  }
}
