// F16 and BF16 weights, repacked into 4-row panels like F32 (see src/kernels/wasm/repack.ts):
// per group of 4 rows, column-major, each column's 4 row values as 16-bit floats (8 B), so a
// 16-byte load holds columns c and c+1 for rows 0..3. Rows past `rows` are zero.
// x: f32[cols], already rounded to f16 / bf16 by round_f16 / round_bf16 (ggml converts the
// activation to the weight type before its dot), so products and sums are plain f32.
import { addRows, f16Mask, f16Scale, storeRows, madd } from "./common";

/** fp16 lanes 0..3 (low) or 4..7 (high) of v -> f32x4. Sign-extending puts the sign in bit 31
 *  after the shift; the mask drops the other sign copies; 2^112 rebiases the exponent (15 ->
 *  127), exact for normals, subnormals and zero (inf/NaN become large finite values). */
// @ts-ignore: decorator
@inline function h2f(e: v128, fm: v128, fs: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(e, 13), fm), fs);
}

// @ts-ignore: decorator
@inline function lo16(v: v128, isBf: bool, fm: v128, fs: v128): v128 {
  return isBf ? i32x4.shl(i32x4.extend_low_i16x8_u(v), 16) : h2f(i32x4.extend_low_i16x8_s(v), fm, fs);
}

// @ts-ignore: decorator
@inline function hi16(v: v128, isBf: bool, fm: v128, fs: v128): v128 {
  return isBf ? i32x4.shl(i32x4.extend_high_i16x8_u(v), 16) : h2f(i32x4.extend_high_i16x8_s(v), fm, fs);
}

/** One 4-row group's step over 4 columns, one of its two chains: v holds columns c, c+1 and h
 *  columns c+2, c+3 (4 rows each); the even chain (odd = false) adds columns c and c+2 times
 *  xa, xb, the odd chain columns c+1 and c+3, each in column order. Every F16/BF16 product sums
 *  its groups with this step, so a group has the same bits whichever kernel runs it. */
// @ts-ignore: decorator
@inline function step16(v: v128, h: v128, xa: v128, xb: v128, a: v128, odd: bool, isBf: bool, fm: v128, fs: v128): v128 {
  return odd
    ? madd(hi16(h, isBf, fm, fs), xb, madd(hi16(v, isBf, fm, fs), xa, a))
    : madd(lo16(h, isBf, fm, fs), xb, madd(lo16(v, isBf, fm, fs), xa, a));
}

/** The one-column tail step of a group's even chain (columns past the last multiple of 4). */
// @ts-ignore: decorator
@inline function tail16(p: usize, xs: v128, a: v128, isBf: bool, fm: v128, fs: v128): v128 {
  return madd(lo16(v128.load64_zero(p), isBf, fm, fs), xs, a);
}

/** One 4-row group, one token: two sequential accumulator chains over the columns (even and
 *  odd, see step16), in an order independent of the thread split and of the token count. */
// @ts-ignore: decorator
@inline export function group16(p: usize, px: usize, cols: i32, isBf: bool): v128 {
  const fm = f16Mask(cols), fs = f16Scale(cols);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const x0 = v128.load32_splat(px, 0), x1 = v128.load32_splat(px, 4);
    const x2 = v128.load32_splat(px, 8), x3 = v128.load32_splat(px, 12);
    const v = v128.load(p), h = v128.load(p, 16);
    a0 = step16(v, h, x0, x2, a0, false, isBf, fm, fs);
    a1 = step16(v, h, x1, x3, a1, true, isBf, fm, fs);
    p += 32;
    px += 16;
  }
  for (; c < cols; c++) {
    a0 = tail16(p, v128.load32_splat(px), a0, isBf, fm, fs);
    p += 8;
    px += 4;
  }
  return f32x4.add(a0, a1);
}

/** n = 2 or 4 F16 4-row groups g.. side by side, each summed exactly as group16 does (so the
 *  same bits): 2n independent accumulator chains instead of two, each x splat loaded once for
 *  all n, for short products over long rows (a LoRA's A x: 16 rows = 4 groups, where one
 *  group's chain of dependent multiply-adds set the time; n = 2 where control.ts splits the
 *  A x over the threads in chunks of two groups; a rank-16 LoRA B, whose 128-byte row groups
 *  make one group alone a short latency-bound chain). Results are stored into y, or with
 *  `add` added times s (addRows: lora.ts's delta). */
// @ts-ignore: decorator
@inline export function groups16(w: usize, gs: usize, x: usize, y: usize, g: i32, rows: i32, cols: i32, n: i32, add: bool, s: v128): void {
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
    a0 = step16(v, h, x0, x2, a0, false, false, fm, fs);
    a1 = step16(v, h, x1, x3, a1, true, false, fm, fs);
    v = v128.load(p + gs);
    h = v128.load(p + gs, 16);
    b0 = step16(v, h, x0, x2, b0, false, false, fm, fs);
    b1 = step16(v, h, x1, x3, b1, true, false, fm, fs);
    if (n == 4) {
      v = v128.load(p + 2 * gs);
      h = v128.load(p + 2 * gs, 16);
      c0 = step16(v, h, x0, x2, c0, false, false, fm, fs);
      c1 = step16(v, h, x1, x3, c1, true, false, fm, fs);
      v = v128.load(p + 3 * gs);
      h = v128.load(p + 3 * gs, 16);
      d0 = step16(v, h, x0, x2, d0, false, false, fm, fs);
      d1 = step16(v, h, x1, x3, d1, true, false, fm, fs);
    }
    p += 32;
    px += 16;
  }
  for (; c < cols; c++) {
    const xs = v128.load32_splat(px);
    a0 = tail16(p, xs, a0, false, fm, fs);
    b0 = tail16(p + gs, xs, b0, false, fm, fs);
    if (n == 4) {
      c0 = tail16(p + 2 * gs, xs, c0, false, fm, fs);
      d0 = tail16(p + 3 * gs, xs, d0, false, fm, fs);
    }
    p += 8;
    px += 4;
  }
  if (add) {
    addRows(y, g, rows, f32x4.add(a0, a1), s);
    addRows(y, g + 1, rows, f32x4.add(b0, b1), s);
    if (n == 4) {
      addRows(y, g + 2, rows, f32x4.add(c0, c1), s);
      addRows(y, g + 3, rows, f32x4.add(d0, d1), s);
    }
    return;
  }
  storeRows(y, g, rows, f32x4.add(a0, a1));
  storeRows(y, g + 1, rows, f32x4.add(b0, b1));
  if (n == 4) {
    storeRows(y, g + 2, rows, f32x4.add(c0, c1));
    storeRows(y, g + 3, rows, f32x4.add(d0, d1));
  }
}

export function matvec_f16(w: usize, x: usize, y: usize, rows: i32, cols: i32, g0: i32, g1: i32): void {
  const gs = <usize>cols << 3;
  let g = g0;
  const none = f32x4.splat(0);
  for (; g + 4 <= g1; g += 4) groups16(w, gs, x, y, g, rows, cols, 4, false, none);
  for (; g + 2 <= g1; g += 2) groups16(w, gs, x, y, g, rows, cols, 2, false, none);
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

