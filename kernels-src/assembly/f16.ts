// F16 and BF16 weights, repacked into 4-row panels like F32 (see src/kernels/wasm/repack.ts):
// per group of 4 rows, column-major, each column's 4 row values as 16-bit floats (8 B), so a
// 16-byte load holds columns c and c+1 for rows 0..3. Rows past `rows` are zero.
// x: f32[cols], already rounded to f16 / bf16 by round_f16 / round_bf16 (ggml converts the
// activation to the weight type before its dot), so products and sums are plain f32.
import { f16Mask, f16Scale, storeRows, madd } from "./common";

/** fp16 lanes 0..3 (low) or 4..7 (high) of v -> f32x4. Sign-extending puts the sign in bit 31
 *  after the shift; the mask drops the other sign copies; 2^112 rebiases the exponent (15 ->
 *  127), exact for normals, subnormals and zero (inf/NaN become large finite values). */
// @ts-ignore: decorator
@inline function h2f(e: v128, fm: v128, fs: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(e, 13), fm), fs);
}

/** fp16 lanes 0..3 / 4..7 of v -> f32x4 (lo16 / hi16 for IEEE halves, for other kernels). */
// @ts-ignore: decorator
@inline export function h2fLo(v: v128, fm: v128, fs: v128): v128 {
  return h2f(i32x4.extend_low_i16x8_s(v), fm, fs);
}
// @ts-ignore: decorator
@inline export function h2fHi(v: v128, fm: v128, fs: v128): v128 {
  return h2f(i32x4.extend_high_i16x8_s(v), fm, fs);
}

// @ts-ignore: decorator
@inline function lo16(v: v128, isBf: bool, fm: v128, fs: v128): v128 {
  return isBf ? i32x4.shl(i32x4.extend_low_i16x8_u(v), 16) : h2f(i32x4.extend_low_i16x8_s(v), fm, fs);
}

// @ts-ignore: decorator
@inline function hi16(v: v128, isBf: bool, fm: v128, fs: v128): v128 {
  return isBf ? i32x4.shl(i32x4.extend_high_i16x8_u(v), 16) : h2f(i32x4.extend_high_i16x8_s(v), fm, fs);
}

/** One 4-row group, one token: a single sequential accumulator over columns in pairs
 *  (order independent of the thread split and of the token count). */
// @ts-ignore: decorator
@inline export function group16(p: usize, px: usize, cols: i32, isBf: bool): v128 {
  const fm = f16Mask(cols), fs = f16Scale(cols);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const v = v128.load(p);
    const h = v128.load(p, 16);
    a0 = madd(lo16(v, isBf, fm, fs), v128.load32_splat(px, 0), a0);
    a1 = madd(hi16(v, isBf, fm, fs), v128.load32_splat(px, 4), a1);
    a0 = madd(lo16(h, isBf, fm, fs), v128.load32_splat(px, 8), a0);
    a1 = madd(hi16(h, isBf, fm, fs), v128.load32_splat(px, 12), a1);
    p += 32;
    px += 16;
  }
  for (; c < cols; c++) {
    a0 = madd(lo16(v128.load64_zero(p), isBf, fm, fs), v128.load32_splat(px), a0);
    p += 8;
    px += 4;
  }
  return f32x4.add(a0, a1);
}

/** Four 4-row groups side by side, each summed exactly as group16 does (so the same bits): eight
 *  independent accumulator chains instead of two, for short products over long rows (a LoRA's
 *  A x: 16 rows = 4 groups, where one group's chain of dependent multiply-adds set the time). */
// @ts-ignore: decorator
@inline function quad16(w: usize, gs: usize, x: usize, y: usize, g: i32, rows: i32, cols: i32): void {
  const fm = f16Mask(cols), fs = f16Scale(cols);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  let p = w + <usize>g * gs;
  let px = x;
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const x0 = v128.load32_splat(px, 0), x1 = v128.load32_splat(px, 4);
    const x2 = v128.load32_splat(px, 8), x3 = v128.load32_splat(px, 12);
    let v = v128.load(p), h = v128.load(p, 16);
    a0 = madd(lo16(v, false, fm, fs), x0, a0);
    a1 = madd(hi16(v, false, fm, fs), x1, a1);
    a0 = madd(lo16(h, false, fm, fs), x2, a0);
    a1 = madd(hi16(h, false, fm, fs), x3, a1);
    v = v128.load(p + gs);
    h = v128.load(p + gs, 16);
    b0 = madd(lo16(v, false, fm, fs), x0, b0);
    b1 = madd(hi16(v, false, fm, fs), x1, b1);
    b0 = madd(lo16(h, false, fm, fs), x2, b0);
    b1 = madd(hi16(h, false, fm, fs), x3, b1);
    v = v128.load(p + 2 * gs);
    h = v128.load(p + 2 * gs, 16);
    c0 = madd(lo16(v, false, fm, fs), x0, c0);
    c1 = madd(hi16(v, false, fm, fs), x1, c1);
    c0 = madd(lo16(h, false, fm, fs), x2, c0);
    c1 = madd(hi16(h, false, fm, fs), x3, c1);
    v = v128.load(p + 3 * gs);
    h = v128.load(p + 3 * gs, 16);
    d0 = madd(lo16(v, false, fm, fs), x0, d0);
    d1 = madd(hi16(v, false, fm, fs), x1, d1);
    d0 = madd(lo16(h, false, fm, fs), x2, d0);
    d1 = madd(hi16(h, false, fm, fs), x3, d1);
    p += 32;
    px += 16;
  }
  for (; c < cols; c++) {
    const xs = v128.load32_splat(px);
    a0 = madd(lo16(v128.load64_zero(p), false, fm, fs), xs, a0);
    b0 = madd(lo16(v128.load64_zero(p + gs), false, fm, fs), xs, b0);
    c0 = madd(lo16(v128.load64_zero(p + 2 * gs), false, fm, fs), xs, c0);
    d0 = madd(lo16(v128.load64_zero(p + 3 * gs), false, fm, fs), xs, d0);
    p += 8;
    px += 4;
  }
  storeRows(y, g, rows, f32x4.add(a0, a1));
  storeRows(y, g + 1, rows, f32x4.add(b0, b1));
  storeRows(y, g + 2, rows, f32x4.add(c0, c1));
  storeRows(y, g + 3, rows, f32x4.add(d0, d1));
}

/** Two 4-row groups side by side (four chains), each summed as group16 does: a LoRA A x split
 *  over the threads in chunks of two groups (see control.ts, pre tasks). */
// @ts-ignore: decorator
@inline function duo16(w: usize, gs: usize, x: usize, y: usize, g: i32, rows: i32, cols: i32): void {
  const fm = f16Mask(cols), fs = f16Scale(cols);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let p = w + <usize>g * gs;
  let px = x;
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const x0 = v128.load32_splat(px, 0), x1 = v128.load32_splat(px, 4);
    const x2 = v128.load32_splat(px, 8), x3 = v128.load32_splat(px, 12);
    let v = v128.load(p), h = v128.load(p, 16);
    a0 = madd(lo16(v, false, fm, fs), x0, a0);
    a1 = madd(hi16(v, false, fm, fs), x1, a1);
    a0 = madd(lo16(h, false, fm, fs), x2, a0);
    a1 = madd(hi16(h, false, fm, fs), x3, a1);
    v = v128.load(p + gs);
    h = v128.load(p + gs, 16);
    b0 = madd(lo16(v, false, fm, fs), x0, b0);
    b1 = madd(hi16(v, false, fm, fs), x1, b1);
    b0 = madd(lo16(h, false, fm, fs), x2, b0);
    b1 = madd(hi16(h, false, fm, fs), x3, b1);
    p += 32;
    px += 16;
  }
  for (; c < cols; c++) {
    const xs = v128.load32_splat(px);
    a0 = madd(lo16(v128.load64_zero(p), false, fm, fs), xs, a0);
    b0 = madd(lo16(v128.load64_zero(p + gs), false, fm, fs), xs, b0);
    p += 8;
    px += 4;
  }
  storeRows(y, g, rows, f32x4.add(a0, a1));
  storeRows(y, g + 1, rows, f32x4.add(b0, b1));
}

export function matvec_f16(w: usize, x: usize, y: usize, rows: i32, cols: i32, g0: i32, g1: i32): void {
  const gs = <usize>cols << 3;
  let g = g0;
  for (; g + 4 <= g1; g += 4) quad16(w, gs, x, y, g, rows, cols);
  for (; g + 2 <= g1; g += 2) duo16(w, gs, x, y, g, rows, cols);
  for (; g < g1; g++) storeRows(y, g, rows, group16(w + <usize>g * gs, x, cols, false));
}

export function matvec_bf16(w: usize, x: usize, y: usize, rows: i32, cols: i32, g0: i32, g1: i32): void {
  const gs = <usize>cols << 3;
  for (let g = g0; g < g1; g++) storeRows(y, g, rows, group16(w + <usize>g * gs, x, cols, true));
}

/** Y[t][r], groups outer so a group's weights stay in cache across tokens. */
export function matmul_f16(w: usize, x: usize, y: usize, rows: i32, cols: i32, nTok: i32, g0: i32, g1: i32): void {
  const gs = <usize>cols << 3;
  for (let g = g0; g < g1; g++)
    for (let t = 0; t < nTok; t++)
      storeRows(y + ((<usize>t * <usize>rows) << 2), g, rows, group16(w + <usize>g * gs, x + ((<usize>t * <usize>cols) << 2), cols, false));
}

export function matmul_bf16(w: usize, x: usize, y: usize, rows: i32, cols: i32, nTok: i32, g0: i32, g1: i32): void {
  const gs = <usize>cols << 3;
  for (let g = g0; g < g1; g++)
    for (let t = 0; t < nTok; t++)
      storeRows(y + ((<usize>t * <usize>rows) << 2), g, rows, group16(w + <usize>g * gs, x + ((<usize>t * <usize>cols) << 2), cols, true));
}

