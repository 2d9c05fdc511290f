/**
 * Q2_K and Q3_K in the "k16" layout of kernels-src/assembly/k16.ts (656 B per 4 rows x 256
 * columns: scales, mins and 4-bit quants unpacked from the 2/3-bit fields; 1.95x a Q2_K file,
 * 1.49x Q3_K): repack from ggml blocks, and read one row back with ggml's dequantization formulas
 * (bit-identical to src/quant/q2_k.ts and q3_k.ts).
 */
import { GGMLType } from "../../gguf/types.js";
import { fp16ToFp32 } from "../../quant/f16.js";
import { q3kScale } from "../../quant/q3_k.js";

const fr = Math.fround;
export const K16_BYTES = 656;

/** Byte of column l (0..31) of a 32-column block inside its 64 B (nibble: low for l < 16). */
function at(ri: number, l: number): number {
  const c = l & 15;
  return 16 * (c >> 2) + 4 * ri + (c & 3);
}

/** Unsigned quant u of weight i of the ggml block at o: Q2_K q (0..3), Q3_K q+4 (0..7). */
function quant(type: GGMLType, b: Uint8Array, o: number, i: number): number {
  const l = i & 31;
  const j = (i >> 5) & 3;
  const c = i >> 7;
  if (type === GGMLType.Q2_K) return (b[o + 16 + 32 * c + l]! >>> (2 * j)) & 3;
  const low = (b[o + 32 + 32 * c + l]! >>> (2 * j)) & 3;
  return b[o + l]! & (1 << (4 * c + j)) ? low + 4 : low;
}

export function repackK16(
  type: GGMLType,
  src: Uint8Array,
  rows: number,
  cols: number,
  rowBytes: number,
  dst: Uint8Array,
): void {
  const nb = cols / 256;
  const fb = type === GGMLType.Q2_K ? 84 : 110;
  for (let r = 0; r < rows; r++) {
    const ri = r & 3;
    for (let b = 0; b < nb; b++) {
      const o = ((r >> 2) * nb + b) * K16_BYTES;
      const s = r * rowBytes + b * fb;
      if (type === GGMLType.Q2_K) {
        for (let i = 0; i < 2; i++) {
          dst[o + 2 * ri + i] = src[s + 80 + i]!;
          dst[o + 8 + 2 * ri + i] = src[s + 82 + i]!;
        }
        for (let j = 0; j < 16; j++) {
          dst[o + 16 + 4 * j + ri] = src[s + j]! & 15;
          dst[o + 80 + 4 * j + ri] = src[s + j]! >> 4;
        }
      } else {
        for (let i = 0; i < 2; i++) {
          dst[o + 2 * ri + i] = src[s + 108 + i]!;
          dst[o + 8 + 2 * ri + i] = src[s + 108 + i]!;
        }
        for (let j = 0; j < 16; j++) {
          const sc = q3kScale(src, s, j);
          dst[o + 16 + 4 * j + ri] = sc & 255;
          dst[o + 80 + 4 * j + ri] = (4 * sc) & 255;
        }
      }
      for (let i = 0; i < 256; i++) {
        const p = o + 144 + 64 * (i >> 5) + at(ri, i & 31);
        dst[p] = dst[p]! | (quant(type, src, s, i) << ((i & 31) < 16 ? 0 : 4));
      }
    }
  }
}

export function unpackK16(type: GGMLType, p: Uint8Array, cols: number, row: number, out: Float32Array): void {
  const nb = cols / 256;
  const ri = row & 3;
  const h16 = (o: number) => fp16ToFp32(p[o]! | (p[o + 1]! << 8));
  const i8 = (o: number) => (p[o]! << 24) >> 24;
  for (let b = 0; b < nb; b++) {
    const o = ((row >> 2) * nb + b) * K16_BYTES;
    const d = h16(o + 2 * ri);
    const dmin = h16(o + 8 + 2 * ri);
    for (let i = 0; i < 256; i++) {
      const j = i >> 4;
      const v = p[o + 144 + 64 * (i >> 5) + at(ri, i & 31)]!;
      const u = (i & 31) < 16 ? v & 15 : v >> 4;
      const sc = i8(o + 16 + 4 * j + ri);
      if (type === GGMLType.Q2_K) out[b * 256 + i] = fr(fr(d * sc) * u) - fr(dmin * i8(o + 80 + 4 * j + ri));
      else out[b * 256 + i] = fr(d * sc) * (u - 4);
    }
  }
}
