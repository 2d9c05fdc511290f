/**
 * Random valid quant blocks, for test models too large to draw and quantize floats for (issue 23:
 * 8B-shape and 16-30B MoE checks written in minutes): quants and sub-block scales are random
 * bytes, and the block's float scale fields are set so the decoded weights spread by about
 * `std`. Byte layouts as ggml's block_q4_K, block_q6_K, block_q8_0, block_q4_0 (src/quant).
 *
 *   Q4_K (144 B / 256): d f16, dmin f16, scales[12] (6-bit sc, m), qs[128] (4-bit q);
 *        w = d*sc*q - dmin*m: with sc, m, q uniform, dmin = 7.5 d centres w and sd(w) ~ 281 d.
 *   Q6_K (210 B / 256): ql[128], qh[64], scales[16] (int8), d f16; w = d*sc*(q - 32),
 *        sd(w) ~ 74 * 18.5 d = 1369 d.
 *   Q8_0 (34 B / 32): d f16, qs[32] int8; sd(w) ~ 74 d.   Q4_0 (18 B / 32): d, qs[16]; w = d(q - 8), sd ~ 4.6 d.
 */
import { GGMLType } from "../../gguf/types.js";
import { fp32ToFp16 } from "../../quant/f16.js";
import type { Rng } from "../../sampling/rng.js";

/** Types randomBlocks writes. */
export const RANDOM_BLOCK_TYPES: ReadonlySet<GGMLType> = new Set([
  GGMLType.Q4_K,
  GGMLType.Q6_K,
  GGMLType.Q8_0,
  GGMLType.Q4_0,
]);

/** Bytes of `nElements` values of `type` as random valid blocks (RANDOM_BLOCK_TYPES only). */
export function randomBlocks(type: GGMLType, nElements: number, rng: Rng, std: number): Uint8Array {
  const layout = {
    [GGMLType.Q4_K]: { qk: 256, bytes: 144, scales: [[0, 1]], sd: 281 },
    [GGMLType.Q6_K]: { qk: 256, bytes: 210, scales: [[208]], sd: 1369 },
    [GGMLType.Q8_0]: { qk: 32, bytes: 34, scales: [[0]], sd: 74 },
    [GGMLType.Q4_0]: { qk: 32, bytes: 18, scales: [[0]], sd: 4.6 },
  }[type as GGMLType.Q4_K | GGMLType.Q6_K | GGMLType.Q8_0 | GGMLType.Q4_0];
  if (!layout) throw new Error(`randomBlocks: unsupported type ${type}`);
  if (nElements % layout.qk !== 0) throw new Error(`randomBlocks: ${nElements} values are not whole blocks`);
  const nb = nElements / layout.qk;
  const out = new Uint8Array(nb * layout.bytes + ((4 - ((nb * layout.bytes) % 4)) % 4));
  const u32 = new Uint32Array(out.buffer, 0, out.length / 4);
  for (let i = 0; i < u32.length; i++) u32[i] = rng.nextU32();
  const d = fp32ToFp16(std / layout.sd);
  const dmin = fp32ToFp16((7.5 * std) / layout.sd);
  for (let b = 0; b < nb; b++) {
    const o = b * layout.bytes;
    const at = type === GGMLType.Q6_K ? o + 208 : o;
    out[at] = d & 0xff;
    out[at + 1] = d >> 8;
    if (type === GGMLType.Q4_K) {
      out[o + 2] = dmin & 0xff;
      out[o + 3] = dmin >> 8;
    }
  }
  return out.subarray(0, nb * layout.bytes);
}
