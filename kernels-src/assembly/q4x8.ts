// Int8-dot kernels for Q4_1, Q5_0 and Q5_1 (the q4x.ts layouts with the int8-dot byte order:
// row ri's column c of chunk m at byte 4*ri + c, repack.ts pos8; fifth bits as in q4x.ts at the
// same byte positions). Weights 0..15 / 0..31 are the 7-bit operand; activations int8 from
// quantize_q8_0_i8 (Q5_0: -16*sum(xq) per block) or quantize_q8_1_i8 (Q4_1/Q5_1: + m*s).
// Pair sums (dot8h) accumulate in i16: 4 bits 8 per sum (<= 30720), 5 bits 4 (<= 31744).
// Per-token float steps are the same in matvec and matmul (bit-identical rows).
import { f16Mask, f16Scale, f16x4, storeRows, madd, dot8h, widen8, kcNib, kcB4, blockMadd, storeTok4, fifth } from "./common";

/** Integer dot of one block (chunks at q, fifth bits at q + 64 when `high`) with one token's
 *  32 int8 quants at xb. */
// @ts-ignore: decorator
@inline function xBlock(q: usize, xb: usize, high: bool, m4: v128, b4: v128): v128 {
  const h = high ? v128.load(q, 64) : i32x4.splat(0);
  let h0 = i16x8.splat(0);
  let h1 = i16x8.splat(0);
  for (let m = 0; m < 4; m++) {
    const v = v128.load(q + (<usize>m << 4));
    let lo = v128.and(v, m4);
    let hi = v128.and(i16x8.shr_u(v, 4), m4);
    if (high) {
      lo = v128.or(lo, fifth(h, m, false, b4));
      hi = v128.or(hi, fifth(h, m, true, b4));
    }
    h0 = i16x8.add(h0, dot8h(v128.load32_splat(xb + (<usize>m << 2)), lo));
    h1 = i16x8.add(h1, dot8h(v128.load32_splat(xb + (<usize>m << 2), 16), hi));
  }
  return i32x4.add(widen8(h0), widen8(h1));
}

/** One group, one token over nb blocks. GB group-block bytes, NIB offset of the chunks. */
// @ts-ignore: decorator
@inline function xGroup(p: usize, xb: usize, pd: usize, ps: usize, nb: i32, GB: usize, NIB: usize, hasMin: bool, high: bool, m4: v128, b4: v128, fm: v128, fs: v128): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    let s = xBlock(p + NIB, xb, high, m4, b4);
    if (!hasMin) s = i32x4.sub(s, i32x4.shl(v128.load32_splat(ps), 4)); // Q5_0: -16*sum(xq)
    acc = blockMadd(acc, s, f16x4(p, fm, fs), v128.load32_splat(pd));
    if (hasMin) acc = madd(f16x4(p + 8, fm, fs), v128.load32_splat(ps), acc);
    p += GB;
    xb += 32;
    pd += 4;
    ps += 4;
  }
  return acc;
}

/** matvec (nTok = 0) or matmul with 4 tokens per pass over each block (chunks unpacked once). */
// @ts-ignore: decorator
@inline function xProduct(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32, GB: usize, NIB: usize, hasMin: bool, high: bool): void {
  const m4 = kcNib(), b4 = kcB4();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  const xqs = <usize>nb << 5;
  const xds = <usize>nb << 2;
  const ys = <usize>rows << 2;
  for (let g = g0; g < g1; g++) {
    const pg = w + <usize>g * <usize>nb * GB;
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = pg;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let ps = xs + <usize>t * xds;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const q = p + NIB;
        const h = high ? v128.load(q, 64) : i32x4.splat(0);
        let c0 = i16x8.splat(0), c1 = i16x8.splat(0), c2 = i16x8.splat(0), c3 = i16x8.splat(0);
        let e0 = i16x8.splat(0), e1 = i16x8.splat(0), e2 = i16x8.splat(0), e3 = i16x8.splat(0);
        for (let m = 0; m < 4; m++) {
          const v = v128.load(q + (<usize>m << 4));
          let lo = v128.and(v, m4);
          let hi = v128.and(i16x8.shr_u(v, 4), m4);
          if (high) {
            lo = v128.or(lo, fifth(h, m, false, b4));
            hi = v128.or(hi, fifth(h, m, true, b4));
          }
          const xo = x0 + (<usize>m << 2);
          c0 = i16x8.add(c0, dot8h(v128.load32_splat(xo), lo));
          c1 = i16x8.add(c1, dot8h(v128.load32_splat(xo + xqs), lo));
          c2 = i16x8.add(c2, dot8h(v128.load32_splat(xo + 2 * xqs), lo));
          c3 = i16x8.add(c3, dot8h(v128.load32_splat(xo + 3 * xqs), lo));
          e0 = i16x8.add(e0, dot8h(v128.load32_splat(xo, 16), hi));
          e1 = i16x8.add(e1, dot8h(v128.load32_splat(xo + xqs, 16), hi));
          e2 = i16x8.add(e2, dot8h(v128.load32_splat(xo + 2 * xqs, 16), hi));
          e3 = i16x8.add(e3, dot8h(v128.load32_splat(xo + 3 * xqs, 16), hi));
        }
        let s0 = i32x4.add(widen8(c0), widen8(e0)), s1 = i32x4.add(widen8(c1), widen8(e1));
        let s2 = i32x4.add(widen8(c2), widen8(e2)), s3 = i32x4.add(widen8(c3), widen8(e3));
        if (!hasMin) {
          s0 = i32x4.sub(s0, i32x4.shl(v128.load32_splat(ps), 4));
          s1 = i32x4.sub(s1, i32x4.shl(v128.load32_splat(ps + xds), 4));
          s2 = i32x4.sub(s2, i32x4.shl(v128.load32_splat(ps + 2 * xds), 4));
          s3 = i32x4.sub(s3, i32x4.shl(v128.load32_splat(ps + 3 * xds), 4));
        }
        const dw = f16x4(p, fm, fs);
        a0 = blockMadd(a0, s0, dw, v128.load32_splat(pd));
        a1 = blockMadd(a1, s1, dw, v128.load32_splat(pd + xds));
        a2 = blockMadd(a2, s2, dw, v128.load32_splat(pd + 2 * xds));
        a3 = blockMadd(a3, s3, dw, v128.load32_splat(pd + 3 * xds));
        if (hasMin) {
          const mw = f16x4(p + 8, fm, fs);
          a0 = madd(mw, v128.load32_splat(ps), a0);
          a1 = madd(mw, v128.load32_splat(ps + xds), a1);
          a2 = madd(mw, v128.load32_splat(ps + 2 * xds), a2);
          a3 = madd(mw, v128.load32_splat(ps + 3 * xds), a3);
        }
        p += GB;
        x0 += 32;
        pd += 4;
        ps += 4;
      }
      storeTok4(y + <usize>t * ys, ys, g, rows, a0, a1, a2, a3);
    }
    const tt = nTok == 0 ? 1 : nTok;
    for (; t < tt; t++)
      storeRows(y + <usize>t * ys, g, rows, xGroup(pg, xq + <usize>t * xqs, xd + <usize>t * xds, xs + <usize>t * xds, nb, GB, NIB, hasMin, high, m4, b4, fm, fs));
  }
}

export function matvec_q4_1_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  xProduct(w, xq, xd, xs, y, rows, nb, 0, g0, g1, 80, 16, true, false);
}
export function matmul_q4_1_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  xProduct(w, xq, xd, xs, y, rows, nb, nTok, g0, g1, 80, 16, true, false);
}
export function matvec_q5_0_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  xProduct(w, xq, xd, xs, y, rows, nb, 0, g0, g1, 88, 8, false, true);
}
export function matmul_q5_0_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  xProduct(w, xq, xd, xs, y, rows, nb, nTok, g0, g1, 88, 8, false, true);
}
export function matvec_q5_1_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  xProduct(w, xq, xd, xs, y, rows, nb, 0, g0, g1, 96, 16, true, true);
}
export function matmul_q5_1_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  xProduct(w, xq, xd, xs, y, rows, nb, nTok, g0, g1, 96, 16, true, true);
}
