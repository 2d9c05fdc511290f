// 4-bit table-lookup weights: IQ4_NL, IQ4_XS and MXFP4, whose 4-bit codes index a 16-entry i8
// table decoded in registers by one i8x16.swizzle per 16 bytes: ggml's non-linear kvalues_iq4nl
// (-127..113) for IQ4_*, kvalues_mxfp4 (the E2M1 values doubled: 0, +-1, +-2, +-3, +-4, +-6, +-8,
// +-12) for MXFP4 (gpt-oss experts). The decoded weights are signed, so the int8 dot takes the
// activation's |q| (0..127) as its 7-bit operand and applies the activation's sign to the weight
// (common.ts signDot), as the Q8_0 int8-dot kernel does; activations from quantize_q8_0_abs
// (IQ4_NL, MXFP4: 64 B per 32, |q| then masks) or quantize_q8_k_abs (IQ4_XS, 512 B per 256).
// Pair sums reach 2*127*127 and are widened after every dot. Layouts (repack.ts), per 4-row group:
//   IQ4_NL, per 32 columns, 72 B (the Q4_0 int8-dot layout): d[4] fp16 | 4 chunks, chunk m holds
//     columns 4m+c (low nibbles) and 16+4m+c (high) of row ri at byte 4*ri + c.
//   MXFP4, per 32 columns, 68 B: e[4] E8M0 (row ri at byte ri) | 4 chunks as IQ4_NL's (file byte
//     qs[4m + c] of row ri at byte 4*ri + c). The block scale is 2^(e-128) built from bits as
//     ggml_e8m0_to_fp32_half does (e < 2: the subnormals 2^-128, 2^-127), so each block adds
//     convert(sumi) * (d_w * d_x) as ggml_vec_dot_mxfp4_q8_0 does (the product of a float and a
//     power of two is exact either way round).
//   IQ4_XS, per 256 columns, 552 B: d[4] fp16 | sc[8][4] i8 (block scale ls - 32) | 8 blocks of
//     32 columns x 64 B laid out as IQ4_NL's chunks.
// IQ4_NL and MXFP4 differ only in table, block bytes and scale: one matvec and one matmul
// (nlMatvec, nlMatmul) serve both. Integer sums are exact (IQ4_XS: sum_ib sc_ib * dot_ib per
// super-block, |.| < 2^31); the float step per block (IQ4_NL, MXFP4) or super-block (IQ4_XS) is
// the same in matvec and matmul, so matmul rows equal matvec's bit for bit and nothing depends on
// the thread split.
import { f16Mask, f16Scale, f16x4, i8x4, u8x4, storeRows, kcNib, blockMadd, storeTok4, signDot } from "./common";

/** kvalues_iq4nl as a swizzle table. */
// @ts-ignore: decorator
@inline function table(): v128 {
  return i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
}

/** kvalues_mxfp4 as a swizzle table. */
// @ts-ignore: decorator
@inline function mxTable(): v128 {
  return i8x16(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
}

/** Four E8M0 bytes at p -> f32x4 of 2^(e-128): bits (e-1)<<23 for e >= 2, 0x00200000<<e below. */
// @ts-ignore: decorator
@inline function e8m0Half4(p: usize): v128 {
  const e = u8x4(p);
  const sub = i32x4.shl(i32x4.add(e, i32x4.splat(1)), 21);
  const nrm = i32x4.shl(i32x4.sub(e, i32x4.splat(1)), 23);
  return v128.bitselect(sub, nrm, i32x4.lt_u(e, i32x4.splat(2)));
}

/** Table lookup of 16 indices (0..15). Relaxed build: relaxed_swizzle (one pshufb on x86; the
 *  indices are in range, so its result is the plain swizzle's). */
// @ts-ignore: decorator
@inline function look(kv: v128, i: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(kv, i);
  return i8x16.swizzle(kv, i);
}

/** Integer dot of one 32-column block (4 chunks at q) with one token's |q| and masks at xa
 *  (|q| at xa, masks at xa + mo), per row of the group. */
// @ts-ignore: decorator
@inline function nlBlock(q: usize, xa: usize, mo: usize, kv: v128, m4: v128): v128 {
  let s0 = i32x4.splat(0);
  let s1 = i32x4.splat(0);
  for (let m: usize = 0; m < 4; m++) {
    const v = v128.load(q + (m << 4));
    const lo = look(kv, v128.and(v, m4));
    const hi = look(kv, v128.and(i16x8.shr_u(v, 4), m4));
    const xo = xa + (m << 2);
    let mk = v128.load32_splat(xo + mo);
    s0 = i32x4.add(s0, signDot(lo, mk, v128.load32_splat(xo)));
    mk = v128.load32_splat(xo + mo, 16);
    s1 = i32x4.add(s1, signDot(hi, mk, v128.load32_splat(xo, 16)));
  }
  return i32x4.add(s0, s1);
}

/** The block scale of the 4 rows: fp16 d (IQ4_NL) or E8M0 2^(e-128) (MXFP4). */
// @ts-ignore: decorator
@inline function nlScale(p: usize, MX: bool, fm: v128, fs: v128): v128 {
  return MX ? e8m0Half4(p) : f16x4(p, fm, fs);
}

/** IQ4_NL (MX = false: 72 B blocks, chunks at +8) or MXFP4 (MX = true: 68 B, chunks at +4). */
// @ts-ignore: decorator
@inline function nlMatvec(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32, MX: bool): void {
  const kv = MX ? mxTable() : table();
  const m4 = kcNib();
  const fm = MX ? i32x4.splat(0) : f16Mask(rows), fs = MX ? i32x4.splat(0) : f16Scale(rows);
  const GB: usize = MX ? 68 : 72;
  const Q: usize = MX ? 4 : 8;
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * <usize>nb * GB;
    let acc = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      const si = nlBlock(p + Q, xq + (<usize>b << 6), 32, kv, m4);
      acc = blockMadd(acc, si, nlScale(p, MX, fm, fs), v128.load32_splat(xd + (<usize>b << 2)));
      p += GB;
    }
    storeRows(y, g, rows, acc);
  }
}

/** 4 tokens per pass (each chunk decoded once for 4 tokens). Token strides: xq nb*64, xd nb*4.
 *  Tail tokens: the matvec (same per-row order). */
// @ts-ignore: decorator
@inline function nlMatmul(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32, MX: bool): void {
  const kv = MX ? mxTable() : table();
  const m4 = kcNib();
  const fm = MX ? i32x4.splat(0) : f16Mask(rows), fs = MX ? i32x4.splat(0) : f16Scale(rows);
  const GB: usize = MX ? 68 : 72;
  const xqs = <usize>nb << 6;
  const xds = <usize>nb << 2;
  const ys = <usize>rows << 2;
  for (let g = g0; g < g1; g++) {
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = w + <usize>g * <usize>nb * GB;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
        for (let m: usize = 0; m < 4; m++) {
          const v = MX ? v128.load(p + (m << 4), 4) : v128.load(p + (m << 4), 8);
          const lo = look(kv, v128.and(v, m4));
          const hi = look(kv, v128.and(i16x8.shr_u(v, 4), m4));
          const xo = x0 + (m << 2);
          s0 = i32x4.add(s0, tok(lo, hi, xo));
          s1 = i32x4.add(s1, tok(lo, hi, xo + xqs));
          s2 = i32x4.add(s2, tok(lo, hi, xo + 2 * xqs));
          s3 = i32x4.add(s3, tok(lo, hi, xo + 3 * xqs));
        }
        const dw = nlScale(p, MX, fm, fs);
        a0 = blockMadd(a0, s0, dw, v128.load32_splat(pd));
        a1 = blockMadd(a1, s1, dw, v128.load32_splat(pd + xds));
        a2 = blockMadd(a2, s2, dw, v128.load32_splat(pd + 2 * xds));
        a3 = blockMadd(a3, s3, dw, v128.load32_splat(pd + 3 * xds));
        p += GB;
        x0 += 64;
        pd += 4;
      }
      storeTok4(y + <usize>t * ys, ys, g, rows, a0, a1, a2, a3);
    }
    for (; t < nTok; t++) {
      if (MX) matvec_mxfp4(w, xq + <usize>t * xqs, xd + <usize>t * xds, y + <usize>t * ys, rows, nb, g, g + 1);
      else matvec_iq4_nl(w, xq + <usize>t * xqs, xd + <usize>t * xds, y + <usize>t * ys, rows, nb, g, g + 1);
    }
  }
}

export function matvec_iq4_nl(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  nlMatvec(w, xq, xd, y, rows, nb, g0, g1, false);
}
export function matmul_iq4_nl(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  nlMatmul(w, xq, xd, y, rows, nb, nTok, g0, g1, false);
}
export function matvec_mxfp4(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  nlMatvec(w, xq, xd, y, rows, nb, g0, g1, true);
}
export function matmul_mxfp4(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  nlMatmul(w, xq, xd, y, rows, nb, nTok, g0, g1, true);
}

/** One token's dots with a chunk's decoded low (columns 4m..) and high (16+4m..) weights; xo:
 *  the token's |q| at column 4m of the block (masks 32 bytes further). */
// @ts-ignore: decorator
@inline function tok(lo: v128, hi: v128, xo: usize): v128 {
  let mk = v128.load32_splat(xo, 32);
  const a = signDot(lo, mk, v128.load32_splat(xo));
  mk = v128.load32_splat(xo, 48);
  return i32x4.add(a, signDot(hi, mk, v128.load32_splat(xo, 16)));
}

/** sum_ib sc_ib * dot_ib of one IQ4_XS super-block for one token (xa: 256 |q| then 256 masks). */
// @ts-ignore: decorator
@inline function xsBlock(p: usize, xa: usize, kv: v128, m4: v128): v128 {
  let sumi = i32x4.splat(0);
  for (let ib: usize = 0; ib < 8; ib++) {
    const s = nlBlock(p + 40 + (ib << 6), xa + (ib << 5), 256, kv, m4);
    sumi = i32x4.add(sumi, i32x4.mul(s, i8x4(p + 8 + (ib << 2))));
  }
  return sumi;
}

export function matvec_iq4_xs(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nsb: i32, g0: i32, g1: i32): void {
  const kv = table();
  const m4 = kcNib();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * <usize>nsb * 552;
    let acc = f32x4.splat(0);
    for (let b = 0; b < nsb; b++) {
      const si = xsBlock(p, xq + (<usize>b << 9), kv, m4);
      acc = blockMadd(acc, si, f16x4(p, fm, fs), v128.load32_splat(xd + (<usize>b << 2)));
      p += 552;
    }
    storeRows(y, g, rows, acc);
  }
}

/** 4 tokens per pass over each 32-column block. Token strides: xq nsb*512, xd nsb*4. */
export function matmul_iq4_xs(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nsb: i32, nTok: i32, g0: i32, g1: i32): void {
  const kv = table();
  const m4 = kcNib();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  const xqs = <usize>nsb << 9;
  const xds = <usize>nsb << 2;
  const ys = <usize>rows << 2;
  for (let g = g0; g < g1; g++) {
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = w + <usize>g * <usize>nsb * 552;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < nsb; b++) {
        let u0 = i32x4.splat(0), u1 = i32x4.splat(0), u2 = i32x4.splat(0), u3 = i32x4.splat(0);
        for (let ib: usize = 0; ib < 8; ib++) {
          const q = p + 40 + (ib << 6);
          const xb = x0 + (ib << 5);
          let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
          for (let m: usize = 0; m < 4; m++) {
            const v = v128.load(q + (m << 4));
            const lo = look(kv, v128.and(v, m4));
            const hi = look(kv, v128.and(i16x8.shr_u(v, 4), m4));
            const xo = xb + (m << 2);
            s0 = i32x4.add(s0, tokXs(lo, hi, xo));
            s1 = i32x4.add(s1, tokXs(lo, hi, xo + xqs));
            s2 = i32x4.add(s2, tokXs(lo, hi, xo + 2 * xqs));
            s3 = i32x4.add(s3, tokXs(lo, hi, xo + 3 * xqs));
          }
          const sc = i8x4(p + 8 + (ib << 2));
          u0 = i32x4.add(u0, i32x4.mul(s0, sc));
          u1 = i32x4.add(u1, i32x4.mul(s1, sc));
          u2 = i32x4.add(u2, i32x4.mul(s2, sc));
          u3 = i32x4.add(u3, i32x4.mul(s3, sc));
        }
        const dw = f16x4(p, fm, fs);
        a0 = blockMadd(a0, u0, dw, v128.load32_splat(pd));
        a1 = blockMadd(a1, u1, dw, v128.load32_splat(pd + xds));
        a2 = blockMadd(a2, u2, dw, v128.load32_splat(pd + 2 * xds));
        a3 = blockMadd(a3, u3, dw, v128.load32_splat(pd + 3 * xds));
        p += 552;
        x0 += 512;
        pd += 4;
      }
      storeTok4(y + <usize>t * ys, ys, g, rows, a0, a1, a2, a3);
    }
    for (; t < nTok; t++)
      matvec_iq4_xs(w, xq + <usize>t * xqs, xd + <usize>t * xds, y + <usize>t * ys, rows, nsb, g, g + 1);
  }
}

/** tok() for IQ4_XS activations (masks 256 bytes after the |q|). */
// @ts-ignore: decorator
@inline function tokXs(lo: v128, hi: v128, xo: usize): v128 {
  let mk = v128.load32_splat(xo, 256);
  const a = signDot(lo, mk, v128.load32_splat(xo));
  mk = v128.load32_splat(xo, 272);
  return i32x4.add(a, signDot(hi, mk, v128.load32_splat(xo, 16)));
}
