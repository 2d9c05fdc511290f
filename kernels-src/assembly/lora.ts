// LoRA deltas added into a product's output inside that product's own pool chunks (issue 21):
//   y[t][r] += s * (B[r] . ax[t])   for the rows r of 4-row groups g0..g1-1 and tokens t < nTok,
// B [rows][rank] in its type's 4-row panel layout (f16.ts / f32.ts), ax [nTok][rank] = A x (for
// F16 B already rounded to fp16 by lora_round_f16, which the A product's chunks run). The B dot
// sums in the order of that type's matvec (one token) or matmul (several), so it has the bits of
// the B product run apart; then the product with s and the sum are each rounded to f32 (no
// fused multiply-add): Math.fround(y + Math.fround(bax * s)) as the TypeScript path adds.
import { addRows, madd } from "./common";
import { group16, groups16 } from "./f16";
import { dotF32x4 } from "./f32";
import { round_f16 } from "./quantize";

export function lora_add_f16(b: usize, ax: usize, y: usize, rows: i32, rank: i32, nTok: i32, s: f32, g0: i32, g1: i32): void {
  const gs = <usize>rank << 3;
  const sv = f32x4.splat(s);
  let g = g0;
  // Four groups side by side (groups16): a rank-16 row group alone is a short latency-bound chain.
  for (; g + 4 <= g1; g += 4)
    for (let t = 0; t < nTok; t++)
      groups16(b, gs, ax + ((<usize>t * <usize>rank) << 2), y + ((<usize>t * <usize>rows) << 2), g, rows, rank, 4, true, sv);
  for (; g < g1; g++)
    for (let t = 0; t < nTok; t++)
      addRows(y + ((<usize>t * <usize>rows) << 2), g, rows, group16(b + <usize>g * gs, ax + ((<usize>t * <usize>rank) << 2), rank, false), sv);
}

/** matmul_f32's order (several tokens): one sequential accumulator. */
// @ts-ignore: decorator
@inline function dotF32x1(p: usize, px: usize, cols: i32): v128 {
  let a = f32x4.splat(0);
  for (let c = 0; c < cols; c++) {
    a = madd(v128.load(p), v128.load32_splat(px), a);
    p += 16;
    px += 4;
  }
  return a;
}

/** vec: the call's whole product is one token (matvec_f32's order), else matmul_f32's (a tile of
 *  one token inside a longer product sums as matmul does). */
export function lora_add_f32(b: usize, ax: usize, y: usize, rows: i32, rank: i32, nTok: i32, s: f32, vec: i32, g0: i32, g1: i32): void {
  const gs = <usize>rank << 4;
  const sv = f32x4.splat(s);
  if (vec != 0) {
    for (let g = g0; g < g1; g++) addRows(y, g, rows, dotF32x4(b + <usize>g * gs, ax, rank), sv);
    return;
  }
  for (let g = g0; g < g1; g++)
    for (let t = 0; t < nTok; t++)
      addRows(y + ((<usize>t * <usize>rows) << 2), g, rows, dotF32x1(b + <usize>g * gs, ax + ((<usize>t * <usize>rank) << 2), rank), sv);
}

/** ax[t][r] rounded to fp16 in place (round_f16) for r in rows of groups g0..g1-1, t < nTok: run
 *  after the A product's chunk over the same groups, so ax is ready for an F16 B. */
export function lora_round_f16(ax: usize, rank: i32, nTok: i32, g0: i32, g1: i32): void {
  const r0 = g0 << 2;
  const r1 = min(g1 << 2, rank);
  if (r1 <= r0) return;
  for (let t = 0; t < nTok; t++) {
    const p = ax + ((<usize>t * <usize>rank + <usize>r0) << 2);
    round_f16(p, r1 - r0, p);
  }
}
