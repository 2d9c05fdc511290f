/**
 * Dequantizes one row straight from the repacked layouts (inverse of repack.ts), for embedding
 * lookups: no file-layout copy of the weights is kept. Values match ggml's dequantize_row_*.
 */
import { unpackIQ4Row } from "./layout-iq4.js";
import { unpackMXFP4Row } from "./layout-mxfp4.js";
import { GGMLType } from "../../gguf/types.js";
import { KernelError } from "../../errors.js";
import { fp16ToF32 } from "../ref/fp16.js";
import { pos, pos16, pos8 } from "./layout-pos.js";
import { unpack16 } from "./layout-16bit.js";
import { unpackQ4x, unpackQ5K } from "./layout-q4x.js";
import { unpackK16 } from "./layout-k16.js";

const fr = Math.fround;

/** dot8: p is in the int8-dot layout (repack(..., dot8 = true)). */
export function unpackRow(
  type: GGMLType,
  p: Uint8Array,
  rows: number,
  cols: number,
  row: number,
  out: Float32Array,
  dot8 = false,
): void {
  const P = dot8 ? pos8 : pos;
  const P16 = dot8 ? pos8 : pos16;
  const g = row >> 2;
  const ri = row & 3;
  const h16 = (o: number) => fp16ToF32(p[o]! | (p[o + 1]! << 8));
  const i8 = (o: number) => (p[o]! << 24) >> 24;
  switch (type) {
    case GGMLType.F16:
    case GGMLType.BF16:
      return unpack16(type === GGMLType.BF16, p, cols, row, out);
    case GGMLType.Q4_1:
    case GGMLType.Q5_0:
    case GGMLType.Q5_1:
      return unpackQ4x(type, p, cols, row, out, P);
    case GGMLType.Q5_K:
      return unpackQ5K(p, cols, row, out, P16);
    case GGMLType.Q2_K:
    case GGMLType.Q3_K:
      return unpackK16(type, p, cols, row, out);
    case GGMLType.IQ4_NL:
    case GGMLType.IQ4_XS:
      return unpackIQ4Row(p, cols, row, out, type === GGMLType.IQ4_NL);
    case GGMLType.MXFP4:
      return unpackMXFP4Row(p, cols, row, out);
    case GGMLType.F32: {
      const f = new Float32Array(p.buffer, p.byteOffset, Math.ceil(rows / 4) * cols * 4);
      for (let c = 0; c < cols; c++) out[c] = f[(g * cols + c) * 4 + ri]!;
      return;
    }
    case GGMLType.Q8_0: {
      const nb = cols / 32;
      for (let b = 0; b < nb; b++) {
        const o = (g * nb + b) * 136;
        const d = h16(o + 2 * ri);
        for (let c = 0; c < 32; c++) out[b * 32 + c] = d * i8(o + 8 + 16 * (c >> 2) + P(ri, c & 3));
      }
      return;
    }
    case GGMLType.Q4_0: {
      const nb = cols / 32;
      for (let b = 0; b < nb; b++) {
        const o = (g * nb + b) * 72;
        const d = h16(o + 2 * ri);
        for (let c = 0; c < 16; c++) {
          const v = p[o + 8 + 16 * (c >> 2) + P16(ri, c & 3)]!;
          out[b * 32 + c] = d * ((v & 15) - 8);
          out[b * 32 + c + 16] = d * ((v >> 4) - 8);
        }
      }
      return;
    }
    case GGMLType.Q4_K: {
      const nb = cols / 256;
      for (let b = 0; b < nb; b++) {
        const o = (g * nb + b) * 592;
        const d = h16(o + 2 * ri);
        const dmin = h16(o + 8 + 2 * ri);
        for (let k = 0; k < 4; k++) {
          const d1 = fr(d * p[o + 16 + 4 * (2 * k) + ri]!);
          const m1 = fr(dmin * p[o + 48 + 4 * (2 * k) + ri]!);
          const d2 = fr(d * p[o + 16 + 4 * (2 * k + 1) + ri]!);
          const m2 = fr(dmin * p[o + 48 + 4 * (2 * k + 1) + ri]!);
          for (let c = 0; c < 32; c++) {
            const v = p[o + 80 + 128 * k + 16 * (c >> 2) + P16(ri, c & 3)]!;
            out[b * 256 + 64 * k + c] = fr(d1 * (v & 15)) - m1;
            out[b * 256 + 64 * k + 32 + c] = fr(d2 * (v >> 4)) - m2;
          }
        }
      }
      return;
    }
    case GGMLType.Q6_K: {
      const nb = cols / 256;
      for (let b = 0; b < nb; b++) {
        const o = (g * nb + b) * 1096;
        const d = h16(o + 2 * ri);
        for (let c = 0; c < 256; c++) {
          const q = dot8
            ? p[o + 72 + 16 * (c >> 2) + P(ri, c & 3)]! - 32
            : i8(o + 72 + 16 * (c >> 2) + P(ri, c & 3));
          out[b * 256 + c] = fr(d * i8(o + 8 + 4 * (c >> 4) + ri)) * q;
        }
      }
      return;
    }
    default:
      throw new KernelError(`no WASM layout for ggml type ${type}`);
  }
}
