// Q4_1, Q5_0 and Q5_1 weights, repacked 4 rows per group like Q4_0 (src/kernels/wasm/repack.ts).
// Per group and 32-column block:
//   [0,8) d[4] fp16 | [8,16) m[4] fp16 (Q4_1, Q5_1 only) | 64 B nibbles exactly as in q4_0.ts
//   | 16 B fifth bits (Q5_0, Q5_1 only): the byte at the same position as a nibble byte of chunk
//     m holds the low-nibble element's 5th bit in bit m and the high-nibble element's in bit m+4.
// Bytes per group-block: Q4_1 80, Q5_0 88, Q5_1 96.
// Quants are used unsigned (0..15 or 0..31). Q5_0 (ggml value q-16) subtracts 16*sum(xq) per
// block; Q4_1/Q5_1 (value d*q + m) add m*s with s = fp16(dx*sum(xq)) from quantize_q8_1.
import { f16Mask, f16Scale, f16x4, storeRows, madd, kcNib, kcB4, blockMadd } from "./common";

/** One 16-byte nibble chunk m: low/high nibble vectors with their 5th bits, dotted with the
 *  widened activation pairs at xb (chunk m covers columns 4m..4m+3 and 16+4m..16+4m+3). */
// @ts-ignore: decorator
@inline function chunk(v: v128, h: v128, m: i32, xb: usize, high: bool, s: v128, m4: v128, b4: v128): v128 {
  // i16 shifts + byte masks: no bit crosses into a byte's kept bits (see q4_k.ts quants5)
  let lo = v128.and(v, m4);
  let hi = v128.and(i16x8.shr_u(v, 4), m4);
  if (high) {
    lo = v128.or(lo, v128.and(i16x8.shl(h, 4 - m), b4));
    hi = v128.or(hi, v128.and(i16x8.shr_u(h, m), b4));
  }
  const xo = <usize>(m << 3);
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), v128.load32_splat(xb + xo)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), v128.load32_splat(xb + xo, 4)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), v128.load32_splat(xb + xo, 32)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), v128.load32_splat(xb + xo, 36)));
  return s;
}

/** One group, one token: acc over nb blocks. GB = group-block bytes, NIB = offset of the nibbles. */
// @ts-ignore: decorator
@inline function group(p: usize, xb: usize, pd: usize, ps: usize, nb: i32, GB: usize, NIB: usize, hasMin: bool, high: bool, m4: v128, b4: v128, fm: v128, fs: v128): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const h = high ? v128.load(p + NIB + 64) : i32x4.splat(0);
    let s = i32x4.splat(0);
    s = chunk(v128.load(p + NIB), h, 0, xb, high, s, m4, b4);
    s = chunk(v128.load(p + NIB + 16), h, 1, xb, high, s, m4, b4);
    s = chunk(v128.load(p + NIB + 32), h, 2, xb, high, s, m4, b4);
    s = chunk(v128.load(p + NIB + 48), h, 3, xb, high, s, m4, b4);
    if (!hasMin) s = i32x4.sub(s, i32x4.shl(v128.load32_splat(ps), 4)); // Q5_0: -16*sum(xq)
    acc = blockMadd(acc, s, f16x4(p, fm, fs), v128.load32_splat(pd));
    if (hasMin) acc = madd(f16x4(p + 8, fm, fs), v128.load32_splat(ps), acc);
    p += GB;
    xb += 64;
    pd += 4;
    ps += 4;
  }
  return acc;
}

export function matvec_q4_1(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  const m4 = kcNib(), b4 = kcB4();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) storeRows(y, g, rows, group(w + <usize>g * <usize>nb * 80, xq, xd, xs, nb, 80, 16, true, false, m4, b4, fm, fs));
}
export function matvec_q5_0(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  const m4 = kcNib(), b4 = kcB4();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) storeRows(y, g, rows, group(w + <usize>g * <usize>nb * 88, xq, xd, xs, nb, 88, 8, false, true, m4, b4, fm, fs));
}
export function matvec_q5_1(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  const m4 = kcNib(), b4 = kcB4();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) storeRows(y, g, rows, group(w + <usize>g * <usize>nb * 96, xq, xd, xs, nb, 96, 16, true, true, m4, b4, fm, fs));
}

// Matmul: groups outer (a group's nb*GB bytes stay in cache), tokens inner; token strides are
// nb*64 (xq), nb*4 (xd, xs) and rows*4 (y).
export function matmul_q4_1(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  const m4 = kcNib(), b4 = kcB4();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++)
    for (let t = 0; t < nTok; t++) {
      const tb = <usize>t * <usize>nb;
      storeRows(y + ((<usize>t * <usize>rows) << 2), g, rows, group(w + <usize>g * <usize>nb * 80, xq + (tb << 6), xd + (tb << 2), xs + (tb << 2), nb, 80, 16, true, false, m4, b4, fm, fs));
    }
}
export function matmul_q5_0(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  const m4 = kcNib(), b4 = kcB4();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++)
    for (let t = 0; t < nTok; t++) {
      const tb = <usize>t * <usize>nb;
      storeRows(y + ((<usize>t * <usize>rows) << 2), g, rows, group(w + <usize>g * <usize>nb * 88, xq + (tb << 6), xd + (tb << 2), xs + (tb << 2), nb, 88, 8, false, true, m4, b4, fm, fs));
    }
}
export function matmul_q5_1(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  const m4 = kcNib(), b4 = kcB4();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++)
    for (let t = 0; t < nTok; t++) {
      const tb = <usize>t * <usize>nb;
      storeRows(y + ((<usize>t * <usize>rows) << 2), g, rows, group(w + <usize>g * <usize>nb * 96, xq + (tb << 6), xd + (tb << 2), xs + (tb << 2), nb, 96, 16, true, true, m4, b4, fm, fs));
    }
}
