// LoRA deltas added into a product's output inside that product's own pool chunks (issue 21):
//   y[t][r] += s * (B[r] . ax[t])   for the rows r of 4-row groups g0..g1-1 and tokens t < nTok,
// B [rows][rank] in its type's 4-row panel layout (f16.ts / f32.ts), ax [nTok][rank] = A x (for
// F16 B already rounded to fp16 by lora_round_f16, which the A product's chunks run). The B dot
// sums in the order of that type's matvec (one token) or matmul (several), so it has the bits of
// the B product run apart; then the product with s and the sum are each rounded to f32 (no
// fused multiply-add): Math.fround(y + Math.fround(bax * s)) as the TypeScript path adds.
import { f16Mask, f16Scale, madd } from "./common";
import { group16, h2fLo, h2fHi } from "./f16";
import { round_f16 } from "./quantize";

// @ts-ignore: decorator
@inline function addRows(y: usize, g: i32, rows: i32, acc: v128, s: v128): void {
  const r0 = g << 2;
  const p = y + (<usize>r0 << 2);
  const d = f32x4.mul(acc, s);
  if (r0 + 4 <= rows) {
    v128.store(p, f32x4.add(v128.load(p), d));
  } else {
    store<f32>(p, load<f32>(p) + f32x4.extract_lane(d, 0));
    if (r0 + 1 < rows) store<f32>(p, load<f32>(p, 4) + f32x4.extract_lane(d, 1), 4);
    if (r0 + 2 < rows) store<f32>(p, load<f32>(p, 8) + f32x4.extract_lane(d, 2), 8);
  }
}

/** Four 4-row groups g..g+3 of an F16 B side by side for one token, each summed exactly as
 *  group16 does (even and odd columns in two accumulators, in column order; so the same bits):
 *  eight independent chains instead of two, each ax splat loaded once for the four groups. A
 *  rank-16 B row group is only 128 bytes, so one group alone is a short chain of dependent
 *  multiply-adds (latency-bound); four side by side keep the vector units busy. */
// @ts-ignore: decorator
@inline function quadAdd16(p: usize, gs: usize, px: usize, y: usize, g: i32, rows: i32, rank: i32, sv: v128): void {
  const fm = f16Mask(rank), fs = f16Scale(rank);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= rank; c += 4) {
    const x0 = v128.load32_splat(px, 0), x1 = v128.load32_splat(px, 4);
    const x2 = v128.load32_splat(px, 8), x3 = v128.load32_splat(px, 12);
    let v = v128.load(p), h = v128.load(p, 16);
    a0 = madd(h2fLo(v, fm, fs), x0, a0);
    a1 = madd(h2fHi(v, fm, fs), x1, a1);
    a0 = madd(h2fLo(h, fm, fs), x2, a0);
    a1 = madd(h2fHi(h, fm, fs), x3, a1);
    v = v128.load(p + gs);
    h = v128.load(p + gs, 16);
    b0 = madd(h2fLo(v, fm, fs), x0, b0);
    b1 = madd(h2fHi(v, fm, fs), x1, b1);
    b0 = madd(h2fLo(h, fm, fs), x2, b0);
    b1 = madd(h2fHi(h, fm, fs), x3, b1);
    v = v128.load(p + 2 * gs);
    h = v128.load(p + 2 * gs, 16);
    c0 = madd(h2fLo(v, fm, fs), x0, c0);
    c1 = madd(h2fHi(v, fm, fs), x1, c1);
    c0 = madd(h2fLo(h, fm, fs), x2, c0);
    c1 = madd(h2fHi(h, fm, fs), x3, c1);
    v = v128.load(p + 3 * gs);
    h = v128.load(p + 3 * gs, 16);
    d0 = madd(h2fLo(v, fm, fs), x0, d0);
    d1 = madd(h2fHi(v, fm, fs), x1, d1);
    d0 = madd(h2fLo(h, fm, fs), x2, d0);
    d1 = madd(h2fHi(h, fm, fs), x3, d1);
    p += 32;
    px += 16;
  }
  for (; c < rank; c++) {
    const xs = v128.load32_splat(px);
    a0 = madd(h2fLo(v128.load64_zero(p), fm, fs), xs, a0);
    b0 = madd(h2fLo(v128.load64_zero(p + gs), fm, fs), xs, b0);
    c0 = madd(h2fLo(v128.load64_zero(p + 2 * gs), fm, fs), xs, c0);
    d0 = madd(h2fLo(v128.load64_zero(p + 3 * gs), fm, fs), xs, d0);
    p += 8;
    px += 4;
  }
  addRows(y, g, rows, f32x4.add(a0, a1), sv);
  addRows(y, g + 1, rows, f32x4.add(b0, b1), sv);
  addRows(y, g + 2, rows, f32x4.add(c0, c1), sv);
  addRows(y, g + 3, rows, f32x4.add(d0, d1), sv);
}

export function lora_add_f16(b: usize, ax: usize, y: usize, rows: i32, rank: i32, nTok: i32, s: f32, g0: i32, g1: i32): void {
  const gs = <usize>rank << 3;
  const sv = f32x4.splat(s);
  let g = g0;
  for (; g + 4 <= g1; g += 4)
    for (let t = 0; t < nTok; t++)
      quadAdd16(b + <usize>g * gs, gs, ax + ((<usize>t * <usize>rank) << 2), y + ((<usize>t * <usize>rows) << 2), g, rows, rank, sv);
  for (; g < g1; g++)
    for (let t = 0; t < nTok; t++)
      addRows(y + ((<usize>t * <usize>rows) << 2), g, rows, group16(b + <usize>g * gs, ax + ((<usize>t * <usize>rank) << 2), rank, false), sv);
}

/** matvec_f32's order for one token: four accumulators over columns c % 4, summed pairwise. */
// @ts-ignore: decorator
@inline function dotF32x4(p: usize, px: usize, cols: i32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    a0 = madd(v128.load(p, 0), v128.load32_splat(px, 0), a0);
    a1 = madd(v128.load(p, 16), v128.load32_splat(px, 4), a1);
    a2 = madd(v128.load(p, 32), v128.load32_splat(px, 8), a2);
    a3 = madd(v128.load(p, 48), v128.load32_splat(px, 12), a3);
    p += 64;
    px += 16;
  }
  for (; c < cols; c++) {
    a0 = madd(v128.load(p), v128.load32_splat(px), a0);
    p += 16;
    px += 4;
  }
  return f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
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
