/**
 * Load-time repacking of ggml weights into the kernels' 4-row-group layouts (documented at the
 * top of each kernels-src/assembly/<type>.ts). Rows are padded to a multiple of 4 with zero
 * bytes (zero scales), so kernels never branch on a partial group except when storing.
 * The repacked size equals the file size for F32, F16, BF16, Q8_0 and Q4_0; Q6_K is widened to
 * int8 quants (+30%, see kernels-src/assembly/q6_k.ts); Q4_K and Q5_K
 * grow by 16 B per 4 rows x 256 columns (scales and mins unpacked from 6 to 8 bits); Q4_1, Q5_0
 * and Q5_1 keep 4-row scale vectors aligned (Q5_0 +8 B per 4 rows x 32 columns).
 * F16/BF16 live in layout-16bit.ts, Q4_1/Q5_0/Q5_1/Q5_K in layout-q4x.ts.
 */
import { GGMLType, ggmlRowBytes } from "../../gguf/types.js";
import { KernelError } from "../../errors.js";
import { q4kQuants, q6kQuants, scaleMinK4 } from "./kquant-fields.js";
import { repack16 } from "./layout-16bit.js";
import { pos, pos16, pos8 } from "./layout-pos.js";
import { repackQ4x, repackQ5K } from "./layout-q4x.js";
import { K16_BYTES, repackK16 } from "./layout-k16.js";
import { IQ4_XS_GROUP_BYTES, repackIQ4_XS } from "./layout-iq4.js";
import { MXFP4_GROUP_BYTES, repackMXFP4 } from "./layout-mxfp4.js";

/** Bytes per (4-row group x block) in the repacked layout, and the block width. */
export const PACKED: ReadonlyMap<GGMLType, { block: number; groupBlockBytes: number }> = new Map([
  [GGMLType.F32, { block: 1, groupBlockBytes: 16 }],
  [GGMLType.F16, { block: 1, groupBlockBytes: 8 }],
  [GGMLType.BF16, { block: 1, groupBlockBytes: 8 }],
  [GGMLType.Q4_1, { block: 32, groupBlockBytes: 80 }],
  [GGMLType.Q5_0, { block: 32, groupBlockBytes: 88 }],
  [GGMLType.Q5_1, { block: 32, groupBlockBytes: 96 }],
  [GGMLType.Q5_K, { block: 256, groupBlockBytes: 720 }],
  [GGMLType.Q8_0, { block: 32, groupBlockBytes: 136 }],
  [GGMLType.Q4_0, { block: 32, groupBlockBytes: 72 }],
  [GGMLType.Q4_K, { block: 256, groupBlockBytes: 592 }],
  [GGMLType.Q6_K, { block: 256, groupBlockBytes: 1096 }],
  [GGMLType.Q2_K, { block: 256, groupBlockBytes: K16_BYTES }],
  [GGMLType.Q3_K, { block: 256, groupBlockBytes: K16_BYTES }],
  [GGMLType.IQ4_NL, { block: 32, groupBlockBytes: 72 }],
  [GGMLType.IQ4_XS, { block: 256, groupBlockBytes: IQ4_XS_GROUP_BYTES }],
  [GGMLType.MXFP4, { block: 32, groupBlockBytes: MXFP4_GROUP_BYTES }],
]);

export function packedBytes(type: GGMLType, rows: number, cols: number): number {
  const p = PACKED.get(type);
  if (!p) throw new KernelError(`no WASM layout for ggml type ${type}`);
  return Math.ceil(rows / 4) * (cols / p.block) * p.groupBlockBytes;
}

/** Types with an int8-dot layout (dot8: same sizes as their i16 layouts, other byte order; Q6_K
 *  stores q unsigned 0..63 instead of q-32). */
export const DOT8_TYPES: ReadonlySet<GGMLType> = new Set([
  GGMLType.Q8_0,
  GGMLType.Q4_0,
  GGMLType.Q4_K,
  GGMLType.Q5_K,
  GGMLType.Q6_K,
  GGMLType.Q4_1,
  GGMLType.Q5_0,
  GGMLType.Q5_1,
]);

/** Whether Q8_0 weights can use the int8-dot layout: the kernel multiplies -w when the
 *  activation is negative, which overflows int8 for w = -128 (ggml's quantizer never writes it,
 *  arbitrary files may). */
export function q8_0Dot8Ok(src: Uint8Array, rows: number, cols: number, rowBytes: number): boolean {
  const nb = cols / 32;
  for (let r = 0; r < rows; r++)
    for (let b = 0; b < nb; b++) {
      const s = r * rowBytes + b * 34 + 2;
      for (let c = 0; c < 32; c++) if (src[s + c] === 0x80) return false;
    }
  return true;
}

/**
 * Packs a matrix (file bytes, ggml layout) into `dst` (packedBytes long; zeroed here first) as the
 * WASM set does, in the int8-dot layout when `type` is in `dot8Types` and the bytes allow it (Q8_0
 * without -128). Returns whether the int8-dot layout was used. Pure: runs on any thread.
 */
export function packInto(
  type: GGMLType,
  src: Uint8Array,
  rows: number,
  cols: number,
  dst: Uint8Array,
  dot8Types: readonly GGMLType[],
): boolean {
  const rowBytes = ggmlRowBytes(type, cols);
  const dot8 =
    dot8Types.includes(type) &&
    DOT8_TYPES.has(type) &&
    (type !== GGMLType.Q8_0 || q8_0Dot8Ok(src, rows, cols, rowBytes));
  dst.fill(0); // as fresh memory: a layout may leave padding untouched
  repack(type, src, rows, cols, rowBytes, dst, dot8);
  return dot8;
}

/**
 * Writes the packed form of `src` (ggml layout, rows x cols) into dst (zeroed, packedBytes long).
 * dot8: the int8-dot byte order (types in DOT8_TYPES only).
 */
export function repack(
  type: GGMLType,
  src: Uint8Array,
  rows: number,
  cols: number,
  rowBytes: number,
  dst: Uint8Array,
  dot8 = false,
): void {
  const groups = Math.ceil(rows / 4);
  const P = dot8 ? pos8 : pos;
  const P16 = dot8 ? pos8 : pos16;
  switch (type) {
    case GGMLType.F16:
    case GGMLType.BF16:
      return repack16(src, rows, cols, rowBytes, dst);
    case GGMLType.Q4_1:
    case GGMLType.Q5_0:
    case GGMLType.Q5_1:
      return repackQ4x(type, src, rows, cols, rowBytes, dst, P);
    case GGMLType.Q5_K:
      return repackQ5K(src, rows, cols, rowBytes, dst, P16);
    case GGMLType.Q2_K:
    case GGMLType.Q3_K:
      return repackK16(type, src, rows, cols, rowBytes, dst);
    case GGMLType.IQ4_NL:
      // same block bytes as Q4_0 (f16 d, 16 B of nibble pairs): its int8-dot layout (iq4.ts)
      return repack(GGMLType.Q4_0, src, rows, cols, rowBytes, dst, true);
    case GGMLType.IQ4_XS:
      return repackIQ4_XS(src, rows, cols, rowBytes, dst);
    case GGMLType.MXFP4:
      return repackMXFP4(src, rows, cols, rowBytes, dst);
    case GGMLType.F32: {
      const s = new Float32Array(src.buffer, src.byteOffset, rows * cols);
      const d = new Float32Array(dst.buffer, dst.byteOffset, groups * cols * 4);
      for (let r = 0; r < rows; r++) {
        const base = (r >> 2) * cols * 4 + (r & 3);
        for (let c = 0; c < cols; c++) d[base + c * 4] = s[r * cols + c]!;
      }
      return;
    }
    case GGMLType.Q8_0: {
      const nb = cols / 32;
      for (let r = 0; r < rows; r++) {
        const ri = r & 3;
        for (let b = 0; b < nb; b++) {
          const o = ((r >> 2) * nb + b) * 136;
          const s = r * rowBytes + b * 34;
          dst[o + 2 * ri] = src[s]!;
          dst[o + 2 * ri + 1] = src[s + 1]!;
          for (let c = 0; c < 32; c++) dst[o + 8 + 16 * (c >> 2) + P(ri, c & 3)] = src[s + 2 + c]!;
        }
      }
      return;
    }
    case GGMLType.Q4_0: {
      const nb = cols / 32;
      for (let r = 0; r < rows; r++) {
        const ri = r & 3;
        for (let b = 0; b < nb; b++) {
          const o = ((r >> 2) * nb + b) * 72;
          const s = r * rowBytes + b * 18;
          dst[o + 2 * ri] = src[s]!;
          dst[o + 2 * ri + 1] = src[s + 1]!;
          // byte i of the file block holds elements i (lo) and i+16 (hi): exactly the packed pair.
          for (let c = 0; c < 16; c++) dst[o + 8 + 16 * (c >> 2) + P16(ri, c & 3)] = src[s + 2 + c]!;
        }
      }
      return;
    }
    case GGMLType.Q4_K: {
      const nb = cols / 256;
      const q = new Uint8Array(256);
      for (let r = 0; r < rows; r++) {
        const ri = r & 3;
        for (let b = 0; b < nb; b++) {
          const o = ((r >> 2) * nb + b) * 592;
          const s = r * rowBytes + b * 144;
          dst[o + 2 * ri] = src[s]!;
          dst[o + 2 * ri + 1] = src[s + 1]!;
          dst[o + 8 + 2 * ri] = src[s + 2]!;
          dst[o + 8 + 2 * ri + 1] = src[s + 3]!;
          for (let j = 0; j < 8; j++) {
            const [sc, m] = scaleMinK4(src, s + 4, j);
            dst[o + 16 + 4 * j + ri] = sc;
            dst[o + 48 + 4 * j + ri] = m;
          }
          q4kQuants(src, s, q);
          for (let k = 0; k < 4; k++)
            for (let c = 0; c < 32; c++) {
              dst[o + 80 + 128 * k + 16 * (c >> 2) + P16(ri, c & 3)] =
                q[64 * k + c]! | (q[64 * k + 32 + c]! << 4);
            }
        }
      }
      return;
    }
    case GGMLType.Q6_K: {
      const nb = cols / 256;
      const q = new Uint8Array(256);
      for (let r = 0; r < rows; r++) {
        const ri = r & 3;
        for (let b = 0; b < nb; b++) {
          const o = ((r >> 2) * nb + b) * 1096;
          const s = r * rowBytes + b * 210;
          dst[o + 2 * ri] = src[s + 208]!;
          dst[o + 2 * ri + 1] = src[s + 209]!;
          for (let j = 0; j < 16; j++) dst[o + 8 + 4 * j + ri] = src[s + 192 + j]!;
          q6kQuants(src, s, q);
          for (let c = 0; c < 256; c++)
            dst[o + 72 + 16 * (c >> 2) + P(ri, c & 3)] = dot8 ? q[c]! : (q[c]! - 32) & 0xff;
        }
      }
      return;
    }
    default:
      throw new KernelError(`no WASM layout for ggml type ${type}`);
  }
}
