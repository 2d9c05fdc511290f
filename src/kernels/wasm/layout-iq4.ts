/**
 * IQ4_XS in the layout of kernels-src/assembly/iq4.ts, per 4-row group and 256 columns 552 B
 * (1.01x the file): d[4] fp16 | sc[8][4] i8 (block scale ls - 32, row ri at 8 + 4*ib + ri) |
 * 8 blocks of 32 columns x 64 B, chunk m of block ib at 40 + 64*ib + 16*m holding file byte
 * qs[16*ib + 4m + c] of row ri at byte 4*ri + c (low nibble column 4m+c, high 16+4m+c: the
 * Q4_0 int8-dot chunk order). IQ4_NL needs no layout of its own (Q4_0's int8-dot layout).
 * Rows are read back with ggml's dequantization formulas (bit-identical to src/quant).
 */
import { fp16ToFp32 } from "../../quant/f16.js";
import { IQ4NL_VALUES } from "../../quant/iq4_nl.js";
import { iq4xsScale } from "../../quant/iq4_xs.js";

export const IQ4_XS_GROUP_BYTES = 552;

export function repackIQ4_XS(
  src: Uint8Array,
  rows: number,
  cols: number,
  rowBytes: number,
  dst: Uint8Array,
): void {
  const nb = cols / 256;
  for (let r = 0; r < rows; r++) {
    const ri = r & 3;
    for (let b = 0; b < nb; b++) {
      const o = ((r >> 2) * nb + b) * IQ4_XS_GROUP_BYTES;
      const s = r * rowBytes + b * 136;
      dst[o + 2 * ri] = src[s]!;
      dst[o + 2 * ri + 1] = src[s + 1]!;
      for (let ib = 0; ib < 8; ib++) {
        dst[o + 8 + 4 * ib + ri] = (iq4xsScale(src, s, ib) - 32) & 255;
        for (let c = 0; c < 16; c++)
          dst[o + 40 + 64 * ib + 16 * (c >> 2) + 4 * ri + (c & 3)] = src[s + 8 + 16 * ib + c]!;
      }
    }
  }
}

/** Row `row` of a repacked IQ4_XS (or IQ4_NL: `nl`) matrix as f32, as src/quant dequantizes. */
export function unpackIQ4Row(p: Uint8Array, cols: number, row: number, out: Float32Array, nl: boolean): void {
  const g = row >> 2;
  const ri = row & 3;
  const fr = Math.fround;
  if (nl) {
    const nb = cols / 32;
    for (let b = 0; b < nb; b++) {
      const o = (g * nb + b) * 72;
      const d = fp16ToFp32(p[o + 2 * ri]! | (p[o + 2 * ri + 1]! << 8));
      for (let c = 0; c < 16; c++) {
        const v = p[o + 8 + 16 * (c >> 2) + 4 * ri + (c & 3)]!;
        out[b * 32 + c] = fr(d * IQ4NL_VALUES[v & 15]!);
        out[b * 32 + c + 16] = fr(d * IQ4NL_VALUES[v >> 4]!);
      }
    }
    return;
  }
  const nb = cols / 256;
  for (let b = 0; b < nb; b++) {
    const o = (g * nb + b) * IQ4_XS_GROUP_BYTES;
    const d = fp16ToFp32(p[o + 2 * ri]! | (p[o + 2 * ri + 1]! << 8));
    for (let ib = 0; ib < 8; ib++) {
      const dl = fr(d * ((p[o + 8 + 4 * ib + ri]! << 24) >> 24));
      for (let c = 0; c < 16; c++) {
        const v = p[o + 40 + 64 * ib + 16 * (c >> 2) + 4 * ri + (c & 3)]!;
        out[b * 256 + 32 * ib + c] = fr(dl * IQ4NL_VALUES[v & 15]!);
        out[b * 256 + 32 * ib + c + 16] = fr(dl * IQ4NL_VALUES[v >> 4]!);
      }
    }
  }
}
