/**
 * Q4_1, Q5_0, Q5_1 and Q5_K in the kernels' 4-row-group layouts (documented at the top of
 * kernels-src/assembly/q4x.ts and q4_k.ts): repack from ggml blocks, and read one row back with
 * ggml's dequantization formulas (bit-identical to src/quant).
 * ggml blocks (ggml-common.h):
 *   Q4_1 20 B / 32: d, m fp16, qs[16]            x = d*q + m        (q 0..15)
 *   Q5_0 22 B / 32: d fp16, qh u32, qs[16]       x = d*(q - 16)     (q 0..31)
 *   Q5_1 24 B / 32: d, m fp16, qh u32, qs[16]    x = d*q + m        (q 0..31)
 *   element j < 16: low nibble of qs[j], 5th bit = qh bit j; element j+16: high nibble, bit j+16.
 *   Q5_K 176 B / 256: d, dmin fp16, scales[12] (as Q4_K), qh[32], qs[128]; element 64c+l: low
 *   nibble of qs[32c+l], 5th bit qh[l] bit 2c; element 64c+32+l: high nibble, bit 2c+1.
 */
import { GGMLType } from "../../gguf/types.js";
import { fp16ToFp32 } from "../../quant/f16.js";
import { scaleMinK4 } from "./kquant-fields.js";
import { pos, pos16 } from "./layout-pos.js";

const fr = Math.fround;

/** Per type: file block bytes, offsets of m / qh / qs in it (-1: absent), and the packed layout
 *  (group-block bytes, offset of the nibbles). */
export const Q4X = new Map<
  GGMLType,
  { fb: number; m: number; qh: number; qs: number; gb: number; nib: number }
>([
  [GGMLType.Q4_1, { fb: 20, m: 2, qh: -1, qs: 4, gb: 80, nib: 16 }],
  [GGMLType.Q5_0, { fb: 22, m: -1, qh: 2, qs: 6, gb: 88, nib: 8 }],
  [GGMLType.Q5_1, { fb: 24, m: 2, qh: 4, qs: 8, gb: 96, nib: 16 }],
]);

export function repackQ4x(
  type: GGMLType,
  src: Uint8Array,
  rows: number,
  cols: number,
  rowBytes: number,
  dst: Uint8Array,
  P: (ri: number, c: number) => number = pos,
): void {
  const L = Q4X.get(type)!;
  const nb = cols / 32;
  for (let r = 0; r < rows; r++) {
    const ri = r & 3;
    for (let b = 0; b < nb; b++) {
      const o = ((r >> 2) * nb + b) * L.gb;
      const s = r * rowBytes + b * L.fb;
      dst[o + 2 * ri] = src[s]!;
      dst[o + 2 * ri + 1] = src[s + 1]!;
      if (L.m >= 0) {
        dst[o + 8 + 2 * ri] = src[s + L.m]!;
        dst[o + 8 + 2 * ri + 1] = src[s + L.m + 1]!;
      }
      const qh =
        L.qh >= 0
          ? (src[s + L.qh]! |
              (src[s + L.qh + 1]! << 8) |
              (src[s + L.qh + 2]! << 16) |
              (src[s + L.qh + 3]! << 24)) >>>
            0
          : 0;
      for (let c = 0; c < 16; c++) {
        const m = c >> 2;
        const p = P(ri, c & 3);
        dst[o + L.nib + 16 * m + p] = src[s + L.qs + c]!;
        if (L.qh >= 0) {
          const hp = o + L.nib + 64 + p;
          dst[hp] = dst[hp]! | (((qh >>> c) & 1) << m) | (((qh >>> (c + 16)) & 1) << (m + 4));
        }
      }
    }
  }
}

export function unpackQ4x(
  type: GGMLType,
  p: Uint8Array,
  cols: number,
  row: number,
  out: Float32Array,
  P: (ri: number, c: number) => number = pos,
): void {
  const L = Q4X.get(type)!;
  const nb = cols / 32;
  const ri = row & 3;
  const h16 = (o: number) => fp16ToFp32(p[o]! | (p[o + 1]! << 8));
  for (let b = 0; b < nb; b++) {
    const o = ((row >> 2) * nb + b) * L.gb;
    const d = h16(o + 2 * ri);
    const m = L.m >= 0 ? h16(o + 8 + 2 * ri) : 0;
    for (let c = 0; c < 16; c++) {
      const k = c >> 2;
      const ps = P(ri, c & 3);
      const v = p[o + L.nib + 16 * k + ps]!;
      const h = L.qh >= 0 ? p[o + L.nib + 64 + ps]! : 0;
      const q0 = (v & 15) | (((h >> k) & 1) << 4);
      const q1 = (v >> 4) | (((h >> (k + 4)) & 1) << 4);
      if (L.m >= 0) {
        out[b * 32 + c] = fr(q0 * d) + m;
        out[b * 32 + c + 16] = fr(q1 * d) + m;
      } else {
        out[b * 32 + c] = (q0 - 16) * d;
        out[b * 32 + c + 16] = (q1 - 16) * d;
      }
    }
  }
}

/** Q5_K: the Q4_K layout (592 B per group and super-block, i16-lane byte order) plus 128 B of
 *  fifth bits at the same byte positions. */
export function repackQ5K(
  src: Uint8Array,
  rows: number,
  cols: number,
  rowBytes: number,
  dst: Uint8Array,
  P: (ri: number, c: number) => number = pos16,
): void {
  const nb = cols / 256;
  for (let r = 0; r < rows; r++) {
    const ri = r & 3;
    for (let b = 0; b < nb; b++) {
      const o = ((r >> 2) * nb + b) * 720;
      const s = r * rowBytes + b * 176;
      for (let i = 0; i < 2; i++) {
        dst[o + 2 * ri + i] = src[s + i]!;
        dst[o + 8 + 2 * ri + i] = src[s + 2 + i]!;
      }
      for (let j = 0; j < 8; j++) {
        const [sc, mn] = scaleMinK4(src, s + 4, j);
        dst[o + 16 + 4 * j + ri] = sc;
        dst[o + 48 + 4 * j + ri] = mn;
      }
      for (let k = 0; k < 4; k++)
        for (let l = 0; l < 32; l++) {
          const m = l >> 2;
          const p = P(ri, l & 3);
          dst[o + 80 + 128 * k + 16 * m + p] = src[s + 48 + 32 * k + l]!;
          const h = src[s + 16 + l]!;
          const hp = o + 592 + 32 * k + 16 * (m >> 2) + p;
          dst[hp] =
            dst[hp]! | (((h >> (2 * k)) & 1) << (m & 3)) | (((h >> (2 * k + 1)) & 1) << ((m & 3) + 4));
        }
    }
  }
}

export function unpackQ5K(
  p: Uint8Array,
  cols: number,
  row: number,
  out: Float32Array,
  P: (ri: number, c: number) => number = pos16,
): void {
  const nb = cols / 256;
  const ri = row & 3;
  const h16 = (o: number) => fp16ToFp32(p[o]! | (p[o + 1]! << 8));
  for (let b = 0; b < nb; b++) {
    const o = ((row >> 2) * nb + b) * 720;
    const d = h16(o + 2 * ri);
    const dmin = h16(o + 8 + 2 * ri);
    for (let k = 0; k < 4; k++) {
      const d1 = fr(d * p[o + 16 + 4 * (2 * k) + ri]!);
      const m1 = fr(dmin * p[o + 48 + 4 * (2 * k) + ri]!);
      const d2 = fr(d * p[o + 16 + 4 * (2 * k + 1) + ri]!);
      const m2 = fr(dmin * p[o + 48 + 4 * (2 * k + 1) + ri]!);
      for (let l = 0; l < 32; l++) {
        const m = l >> 2;
        const ps = P(ri, l & 3);
        const v = p[o + 80 + 128 * k + 16 * m + ps]!;
        const h = p[o + 592 + 32 * k + 16 * (m >> 2) + ps]!;
        const q0 = (v & 15) | (((h >> (m & 3)) & 1) << 4);
        const q1 = (v >> 4) | (((h >> ((m & 3) + 4)) & 1) << 4);
        out[b * 256 + 64 * k + l] = fr(d1 * q0) - m1;
        out[b * 256 + 64 * k + 32 + l] = fr(d2 * q1) - m2;
      }
    }
  }
}
