// Int8-dot kernels ("dot8") for the relaxed-SIMD build: i32x4.relaxed_dot_i8x16_i7x16_add_s
// (common.ts dot8) multiplies 16 signed activation bytes by 16 weight bytes in 0..127 and adds
// each group of 4 products into one i32 lane. Weights are repacked 4 rows per group (repack.ts,
// dot8 = true) so that every 16-byte chunk holds 4 consecutive columns of each of the 4 rows
// (byte 4*row + c, repack.ts pos8): one dot8 against 4 splatted activation bytes gives the 4
// rows' partial sums. The 7-bit operand is always the unsigned one:
//   Q4_0, Q4_K: nibbles 0..15 (Q4_0's -8 folded back as -8*sum(xq) per block, Q4_K's mins as
//     ggml: dmin*m*sum(xq) per sub-block);  Q5_K: 0..31 (fifth bits from qh, as q4_k.ts);
//   Q6_K: q 0..63 (the -32 folded back as -32*sum(xq) per 16 columns);
//   Q8_0: the activation's |q| (0..127; quantize_q8_0_abs), the weight negated where q < 0
//     (a sign mask from the quantizer), which needs weights != -128 (checked at load).
// Layouts, per 4-row group and block (same sizes as the i16 layouts of the same types):
//   Q8_0 136 B: d[4] fp16 | 8 chunks (columns 4m..4m+3)
//   Q4_0  72 B: d[4] fp16 | 4 chunks, chunk m: columns 4m+c (low nibble), 16+4m+c (high nibble)
//   Q4_K 592 B, Q5_K 720 B: as q4_k.ts with pos8 byte order (chunk m of pair k: columns 4m..4m+3
//     of sub-block 2k low, 2k+1 high)
//   Q6_K 1096 B: d[4] fp16 | scale[16][4] i8 | 64 chunks of q (0..63)
// Activations: int8 (quantize_q8_0_i8 / _abs / quantize_q8_k_i8), f32 scale per block, i32 sums.
// Integer sums are exact, and the float part is the same expression per block in matvec and
// matmul, so matmul's rows equal matvec's bit for bit and nothing depends on the thread split.
import { kcNib, kcF16Mask, kcF16Scale, f16Mask, f16Scale, f16x4, u8x4, i8x4, storeRows, dot8, dot8h, widen8, kcB4, acc8, fin8, dot8s, blockMadd, storeTok4, storeGroups4, blockMsub, signDot, fifth } from "./common";

// ---------------------------------------------------------------- Q8_0

/** One block of one group for one token: xb = |q| (32 B) then the sign mask (32 B). */
// @ts-ignore: decorator
@inline function q8Block(p: usize, xb: usize): v128 {
  // pair sums reach 2*127*127 = 32258: widened after every dot
  let s0 = i32x4.splat(0);
  let s1 = i32x4.splat(0);
  for (let m: usize = 0; m < 8; m += 2) {
    let mk = v128.load32_splat(xb + (m << 2), 32);
    s0 = i32x4.add(s0, signDot(v128.load(p + (m << 4), 8), mk, v128.load32_splat(xb + (m << 2))));
    mk = v128.load32_splat(xb + (m << 2), 36);
    s1 = i32x4.add(s1, signDot(v128.load(p + (m << 4), 24), mk, v128.load32_splat(xb + (m << 2), 4)));
  }
  return i32x4.add(s0, s1);
}

export function matvec_q8_0_r(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * <usize>nb * 136;
    let acc = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      const si = q8Block(p, xq + (<usize>b << 6));
      acc = blockMadd(acc, si, f16x4(p, fm, fs), v128.load32_splat(xd + (<usize>b << 2)));
      p += 136;
    }
    storeRows(y, g, rows, acc);
  }
}

/** 4 tokens per pass (each weight chunk loaded once for 4 tokens). Token strides: xq nb*64,
 *  xd nb*4, y rows*4. Tail tokens: matvec_q8_0_r (same per-row order). */
export function matmul_q8_0_r(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  const xqs = <usize>nb << 6;
  const xds = <usize>nb << 2;
  const ys = <usize>rows << 2;
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) {
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = w + <usize>g * <usize>nb * 136;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
        for (let m: usize = 0; m < 8; m++) {
          const v = v128.load(p + (m << 4), 8);
          const xo = x0 + (m << 2);
          let mk = v128.load32_splat(xo, 32);
          s0 = i32x4.add(s0, signDot(v, mk, v128.load32_splat(xo)));
          mk = v128.load32_splat(xo + xqs, 32);
          s1 = i32x4.add(s1, signDot(v, mk, v128.load32_splat(xo + xqs)));
          mk = v128.load32_splat(xo + 2 * xqs, 32);
          s2 = i32x4.add(s2, signDot(v, mk, v128.load32_splat(xo + 2 * xqs)));
          mk = v128.load32_splat(xo + 3 * xqs, 32);
          s3 = i32x4.add(s3, signDot(v, mk, v128.load32_splat(xo + 3 * xqs)));
        }
        const dw = f16x4(p, fm, fs);
        a0 = blockMadd(a0, s0, dw, v128.load32_splat(pd));
        a1 = blockMadd(a1, s1, dw, v128.load32_splat(pd + xds));
        a2 = blockMadd(a2, s2, dw, v128.load32_splat(pd + 2 * xds));
        a3 = blockMadd(a3, s3, dw, v128.load32_splat(pd + 3 * xds));
        p += 136;
        x0 += 64;
        pd += 4;
      }
      storeTok4(y + <usize>t * ys, ys, g, rows, a0, a1, a2, a3);
    }
    for (; t < nTok; t++)
      matvec_q8_0_r(w, xq + <usize>t * xqs, xd + <usize>t * xds, y + <usize>t * ys, rows, nb, g, g + 1);
  }
}

// ---------------------------------------------------------------- Q4_0

/** Integer dot of one Q4_0 group-block (nibbles at p+8) with one token's 32 int8 quants, given
 *  as the 8 splats x0..x7 of their 4-byte groups (xk = bytes 4k..4k+3), before the -8 offset:
 *  8 pair dots summed in i16 (|sum| <= 8*2*128*15 = 30720), widened once. Written out chunk by
 *  chunk (constant offsets): TurboFan neither fully unrolls a 4-trip loop nor keeps its spilled
 *  addresses in registers across one, which cost ~40% here. */
// @ts-ignore: decorator
@inline function q4Dot(p: usize, x0: v128, x1: v128, x2: v128, x3: v128, x4: v128, x5: v128, x6: v128, x7: v128, m4: v128): v128 {
  const v0 = v128.load(p, 8), v1 = v128.load(p, 24), v2 = v128.load(p, 40), v3 = v128.load(p, 56);
  let h0 = dot8s(x0, v128.and(v0, m4));
  let h1 = dot8s(x4, v128.and(i16x8.shr_u(v0, 4), m4));
  h0 = acc8(x1, v128.and(v1, m4), h0);
  h1 = acc8(x5, v128.and(i16x8.shr_u(v1, 4), m4), h1);
  h0 = acc8(x2, v128.and(v2, m4), h0);
  h1 = acc8(x6, v128.and(i16x8.shr_u(v2, 4), m4), h1);
  h0 = acc8(x3, v128.and(v3, m4), h0);
  h1 = acc8(x7, v128.and(i16x8.shr_u(v3, 4), m4), h1);
  return DOT32 ? i32x4.add(h0, h1) : widen8(i16x8.add(h0, h1));
}

/** The 8 activation splats of one Q4_0 block for q4Dot are loaded by the caller. Q4_0 matvec,
 *  one 4-row group per pass: one weight stream. A four-group pass (each activation splat serving
 *  16 rows, four streams gb apart) was ~10% faster on a 1024x4096 weight (in cache), 10% slower
 *  at 4096x4096 and 4x slower at 11008x4096, streaming from DRAM as in decoding (docs/kernels.md,
 *  scripts/kernel-ab.mjs --rows); its per-group sums were these, so results are the same. */
export function matvec_q4_0_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  const fm = f16Mask(rows), fs = f16Scale(rows);
  const gb = <usize>nb * 72;
  const pe = xd + (<usize>nb << 2);
  const m4 = kcNib();
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * gb;
    let acc = f32x4.splat(0);
    let pq = xq, pd = xd, ps = xs;
    while (pd < pe) {
      const x0 = v128.load32_splat(pq, 0), x1 = v128.load32_splat(pq, 4), x2 = v128.load32_splat(pq, 8), x3 = v128.load32_splat(pq, 12);
      const x4 = v128.load32_splat(pq, 16), x5 = v128.load32_splat(pq, 20), x6 = v128.load32_splat(pq, 24), x7 = v128.load32_splat(pq, 28);
      const si = i32x4.sub(q4Dot(p, x0, x1, x2, x3, x4, x5, x6, x7, m4), i32x4.shl(v128.load32_splat(ps), 3));
      acc = blockMadd(acc, si, f16x4(p, fm, fs), v128.load32_splat(pd));
      p += 72;
      pq += 32;
      pd += 4;
      ps += 4;
    }
    storeRows(y, g, rows, acc);
  }
}

/** 4 tokens per pass: each chunk's nibbles are unpacked once for 4 tokens. Token strides: xq
 *  nb*32, xd and xs nb*4, y rows*4. */
export function matmul_q4_0_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  const xqs = <usize>nb << 5;
  const xds = <usize>nb << 2;
  const ys = <usize>rows << 2;
  const m4 = kcNib();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) {
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = w + <usize>g * <usize>nb * 72;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let ps = xs + <usize>t * xds;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        // i16 pair sums per token over the block's 8 chunk halves (<= 30720, see q4Dot)
        let h0 = i16x8.splat(0), h1 = i16x8.splat(0), h2 = i16x8.splat(0), h3 = i16x8.splat(0);
        for (let m: usize = 0; m < 4; m++) {
          const v = v128.load(p + (m << 4), 8);
          const lo = v128.and(v, m4);
          const hi = v128.and(i16x8.shr_u(v, 4), m4);
          const xo = x0 + (m << 2);
          h0 = acc8(v128.load32_splat(xo, 16), hi, acc8(v128.load32_splat(xo), lo, h0));
          h1 = acc8(v128.load32_splat(xo + xqs, 16), hi, acc8(v128.load32_splat(xo + xqs), lo, h1));
          h2 = acc8(v128.load32_splat(xo + 2 * xqs, 16), hi, acc8(v128.load32_splat(xo + 2 * xqs), lo, h2));
          h3 = acc8(v128.load32_splat(xo + 3 * xqs, 16), hi, acc8(v128.load32_splat(xo + 3 * xqs), lo, h3));
        }
        let s0 = fin8(h0), s1 = fin8(h1), s2 = fin8(h2), s3 = fin8(h3);
        const dw = f16x4(p, fm, fs);
        s0 = i32x4.sub(s0, i32x4.shl(v128.load32_splat(ps), 3));
        s1 = i32x4.sub(s1, i32x4.shl(v128.load32_splat(ps + xds), 3));
        s2 = i32x4.sub(s2, i32x4.shl(v128.load32_splat(ps + 2 * xds), 3));
        s3 = i32x4.sub(s3, i32x4.shl(v128.load32_splat(ps + 3 * xds), 3));
        a0 = blockMadd(a0, s0, dw, v128.load32_splat(pd));
        a1 = blockMadd(a1, s1, dw, v128.load32_splat(pd + xds));
        a2 = blockMadd(a2, s2, dw, v128.load32_splat(pd + 2 * xds));
        a3 = blockMadd(a3, s3, dw, v128.load32_splat(pd + 3 * xds));
        p += 72;
        x0 += 32;
        pd += 4;
        ps += 4;
      }
      storeTok4(y + <usize>t * ys, ys, g, rows, a0, a1, a2, a3);
    }
    for (; t < nTok; t++)
      matvec_q4_0_r(w, xq + <usize>t * xqs, xd + <usize>t * xds, xs + <usize>t * xds, y + <usize>t * ys, rows, nb, g, g + 1);
  }
}

// ---------------------------------------------------------------- Q4_K / Q5_K

/** sum_j sc_j * dot_j of one super-block for one token (xb: 256 int8 quants). QH: offset of
 *  the fifth bits (Q5_K) or 0 (Q4_K). */
// @ts-ignore: decorator
@inline function kBlock(p: usize, xb: usize, five: bool, m4: v128, b4: v128): v128 {
  let sumi = i32x4.splat(0);
  for (let k: usize = 0; k < 4; k++) {
    const q = p + 80 + (k << 7);
    const x = xb + (k << 6);
    let a = i32x4.splat(0);
    let c = i32x4.splat(0);
    if (!five) {
      // 8 pair dots of nibbles summed in i16 (<= 8*2*128*15 = 30720), widened once
      // written out with constant offsets (see q4Dot)
      let v = v128.load(q);
      let ha = dot8s(v128.load32_splat(x), v128.and(v, m4));
      let hc = dot8s(v128.load32_splat(x, 32), v128.and(i16x8.shr_u(v, 4), m4));
      v = v128.load(q, 16);
      ha = acc8(v128.load32_splat(x, 4), v128.and(v, m4), ha);
      hc = acc8(v128.load32_splat(x, 36), v128.and(i16x8.shr_u(v, 4), m4), hc);
      v = v128.load(q, 32);
      ha = acc8(v128.load32_splat(x, 8), v128.and(v, m4), ha);
      hc = acc8(v128.load32_splat(x, 40), v128.and(i16x8.shr_u(v, 4), m4), hc);
      v = v128.load(q, 48);
      ha = acc8(v128.load32_splat(x, 12), v128.and(v, m4), ha);
      hc = acc8(v128.load32_splat(x, 44), v128.and(i16x8.shr_u(v, 4), m4), hc);
      v = v128.load(q, 64);
      ha = acc8(v128.load32_splat(x, 16), v128.and(v, m4), ha);
      hc = acc8(v128.load32_splat(x, 48), v128.and(i16x8.shr_u(v, 4), m4), hc);
      v = v128.load(q, 80);
      ha = acc8(v128.load32_splat(x, 20), v128.and(v, m4), ha);
      hc = acc8(v128.load32_splat(x, 52), v128.and(i16x8.shr_u(v, 4), m4), hc);
      v = v128.load(q, 96);
      ha = acc8(v128.load32_splat(x, 24), v128.and(v, m4), ha);
      hc = acc8(v128.load32_splat(x, 56), v128.and(i16x8.shr_u(v, 4), m4), hc);
      v = v128.load(q, 112);
      ha = acc8(v128.load32_splat(x, 28), v128.and(v, m4), ha);
      hc = acc8(v128.load32_splat(x, 60), v128.and(i16x8.shr_u(v, 4), m4), hc);
      a = fin8(ha);
      c = fin8(hc);
    } else {
      // 5-bit quants: 4 pair dots per i16 sum (<= 4*2*128*31 = 31744)
      for (let hv: usize = 0; hv < 2; hv++) {
        const h = v128.load(p + 592 + (k << 5) + (hv << 4));
        const qv = q + (hv << 6);
        const xv = x + (hv << 4);
        let ha = i16x8.splat(0);
        let hc = i16x8.splat(0);
        for (let b = 0; b < 4; b++) {
          const v = v128.load(qv + (<usize>b << 4));
          const lo = v128.or(v128.and(v, m4), fifth(h, b, false, b4));
          const hi = v128.or(v128.and(i16x8.shr_u(v, 4), m4), fifth(h, b, true, b4));
          ha = acc8(v128.load32_splat(xv + (<usize>b << 2)), lo, ha);
          hc = acc8(v128.load32_splat(xv + (<usize>b << 2), 32), hi, hc);
        }
        a = i32x4.add(a, fin8(ha));
        c = i32x4.add(c, fin8(hc));
      }
    }
    sumi = i32x4.add(sumi, i32x4.mul(a, u8x4(p + 16 + (k << 3))));
    sumi = i32x4.add(sumi, i32x4.mul(c, u8x4(p + 20 + (k << 3))));
  }
  return sumi;
}

/** One token's activation sums per 32 columns of a super-block as i16 lanes j = 0..7 (from the
 *  quantizer's i32 sums per 16 at ps; |sum of 32 int8| <= 4064, so the narrowing is exact). */
// @ts-ignore: decorator
@inline function xsum32(ps: usize): v128 {
  const a0 = v128.load(ps), a1 = v128.load(ps, 16), a2 = v128.load(ps, 32), a3 = v128.load(ps, 48);
  const e = i32x4.add(v128.shuffle<i32>(a0, a1, 0, 2, 4, 6), v128.shuffle<i32>(a0, a1, 1, 3, 5, 7));
  const f = i32x4.add(v128.shuffle<i32>(a2, a3, 0, 2, 4, 6), v128.shuffle<i32>(a2, a3, 1, 3, 5, 7));
  return i16x8.narrow_i32x4_s(e, f);
}

/** The mins m_{2k}, m_{2k+1} of the 4 rows (u8 at p+48, [j][row]) as i16 pairs, lanes 2r, 2r+1. */
// @ts-ignore: decorator
@inline function minPair(p: usize, k: usize): v128 {
  const v = i16x8.extend_low_i8x16_u(v128.load64_zero(p + 48 + (k << 3)));
  return v128.shuffle<i16>(v, v, 0, 4, 1, 5, 2, 6, 3, 7);
}

/** sum_j m_j * xsum_j per row (exact i32: m <= 63, |xsum| <= 4064): four i16 pair dots of the
 *  mins' pairs m0..m3 (minPair) against the token's per-32 sums (xsum32), lane k of x32 being
 *  the pair (xsum_2k, xsum_2k+1). */
// @ts-ignore: decorator
@inline function kMinP(m0: v128, m1: v128, m2: v128, m3: v128, x32: v128): v128 {
  const d0 = i32x4.dot_i16x8_s(m0, v128.shuffle<i32>(x32, x32, 0, 0, 0, 0));
  const d1 = i32x4.dot_i16x8_s(m1, v128.shuffle<i32>(x32, x32, 1, 1, 1, 1));
  const d2 = i32x4.dot_i16x8_s(m2, v128.shuffle<i32>(x32, x32, 2, 2, 2, 2));
  const d3 = i32x4.dot_i16x8_s(m3, v128.shuffle<i32>(x32, x32, 3, 3, 3, 3));
  return i32x4.add(i32x4.add(d0, d1), i32x4.add(d2, d3));
}
// @ts-ignore: decorator
@inline function kMinX(p: usize, x32: v128): v128 {
  return kMinP(minPair(p, 0), minPair(p, 1), minPair(p, 2), minPair(p, 3), x32);
}

/** sum_j m_j * xsum_j (xsum per 32 = two sums per 16 from the quantizer). */
// @ts-ignore: decorator
@inline function kMin(p: usize, ps: usize): v128 {
  return kMinX(p, xsum32(ps));
}

/** A sub-block scale per row (u8 at sp, one per row) in the form the scale step takes: i16
 *  pairs (sc_r, sc_r) for the i16 pair sums (DOT32 = 0), i32 lanes for the i32 sums (DOT32 = 1). */
// @ts-ignore: decorator
@inline function scU8(sp: usize): v128 {
  if (DOT32) return u8x4(sp);
  const v = i16x8.extend_low_i8x16_u(v128.load32_zero(sp));
  return v128.shuffle<i16>(v, v, 0, 0, 1, 1, 2, 2, 3, 3);
}
/** The same for signed i8 scales (Q6_K). */
// @ts-ignore: decorator
@inline function scI8(sp: usize): v128 {
  if (DOT32) return i8x4(sp);
  const v = i16x8.extend_low_i8x16_s(v128.load32_zero(sp));
  return v128.shuffle<i16>(v, v, 0, 0, 1, 1, 2, 2, 3, 3);
}
/** Row sums of an acc8 accumulation times the row scales (scU8/scI8): one i16 pair dot by the
 *  duplicated scales (DOT32 = 0: the widening and the multiply in one pmaddwd; exact, |pair sum|
 *  <= 32767 and |sc| <= 128), or an i32 multiply. */
// @ts-ignore: decorator
@inline function fin8sc(acc: v128, sc: v128): v128 {
  if (DOT32) return i32x4.mul(acc, sc);
  return i32x4.dot_i16x8_s(acc, sc);
}

/** One group, one token, nsb super-blocks (ggml order: d*dx*sumi - dmin*dx*summ). */
// @ts-ignore: decorator
@inline function kGroup(p: usize, xq: usize, xd: usize, xs: usize, nsb: i32, GB: usize, five: bool, m4: v128, b4: v128, fm: v128, fs: v128): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) {
    const sumi = kBlock(p, xq + (<usize>b << 8), five, m4, b4);
    const summ = kMin(p, xs + (<usize>b << 6));
    const dx = v128.load32_splat(xd + (<usize>b << 2));
    acc = blockMadd(acc, sumi, f16x4(p, fm, fs), dx);
    acc = blockMsub(acc, summ, f16x4(p + 8, fm, fs), dx);
    p += GB;
  }
  return acc;
}

/** Q4_K matvec, one group (kGroup) per pass: one weight stream (see matvec_q4_0_r; a four-group
 *  pass was as fast in cache and ~2x slower streaming from DRAM, with the same results). */
export function matvec_q4_k_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, g0: i32, g1: i32): void {
  const m4 = kcNib(), b4 = kcB4();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  const gb = <usize>nsb * 592;
  for (let g = g0; g < g1; g++) storeRows(y, g, rows, kGroup(w + <usize>g * gb, xq, xd, xs, nsb, 592, false, m4, b4, fm, fs));
}

/** Q5_K matvec, two groups (8 rows) per pass: each activation splat serves both; per group the
 *  integer sums and float steps are kGroup's (identical results); an odd last group takes kGroup. */
export function matvec_q5_k_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, g0: i32, g1: i32): void {
  const m4 = kcNib(), b4 = kcB4();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  const gb = <usize>nsb * 720;
  let g = g0;
  for (; g + 2 <= g1; g += 2) {
    let p = w + <usize>g * gb;
    let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
    for (let b = 0; b < nsb; b++) {
      const xb = xq + (<usize>b << 8);
      let sumi0 = i32x4.splat(0), sumi1 = i32x4.splat(0);
      for (let k: usize = 0; k < 4; k++) {
        const x = xb + (k << 6);
        let a0 = i32x4.splat(0), c0 = i32x4.splat(0), a1 = i32x4.splat(0), c1 = i32x4.splat(0);
        for (let hv: usize = 0; hv < 2; hv++) {
          const xv = x + (hv << 4);
          const h0 = v128.load(p + 0 * gb + 592 + (k << 5) + (hv << 4));
          const qv0 = p + 0 * gb + 80 + (k << 7) + (hv << 6);
          let ha0 = i16x8.splat(0), hc0 = i16x8.splat(0);
          const h1 = v128.load(p + 1 * gb + 592 + (k << 5) + (hv << 4));
          const qv1 = p + 1 * gb + 80 + (k << 7) + (hv << 6);
          let ha1 = i16x8.splat(0), hc1 = i16x8.splat(0);
          let xl: v128, xh: v128, v: v128;
          xl = v128.load32_splat(xv, 0); xh = v128.load32_splat(xv, 32);
          v = v128.load(qv0, 0);
          ha0 = acc8(xl, v128.or(v128.and(v, m4), fifth(h0, 0, false, b4)), ha0);
          hc0 = acc8(xh, v128.or(v128.and(i16x8.shr_u(v, 4), m4), fifth(h0, 0, true, b4)), hc0);
          v = v128.load(qv1, 0);
          ha1 = acc8(xl, v128.or(v128.and(v, m4), fifth(h1, 0, false, b4)), ha1);
          hc1 = acc8(xh, v128.or(v128.and(i16x8.shr_u(v, 4), m4), fifth(h1, 0, true, b4)), hc1);
          xl = v128.load32_splat(xv, 4); xh = v128.load32_splat(xv, 36);
          v = v128.load(qv0, 16);
          ha0 = acc8(xl, v128.or(v128.and(v, m4), fifth(h0, 1, false, b4)), ha0);
          hc0 = acc8(xh, v128.or(v128.and(i16x8.shr_u(v, 4), m4), fifth(h0, 1, true, b4)), hc0);
          v = v128.load(qv1, 16);
          ha1 = acc8(xl, v128.or(v128.and(v, m4), fifth(h1, 1, false, b4)), ha1);
          hc1 = acc8(xh, v128.or(v128.and(i16x8.shr_u(v, 4), m4), fifth(h1, 1, true, b4)), hc1);
          xl = v128.load32_splat(xv, 8); xh = v128.load32_splat(xv, 40);
          v = v128.load(qv0, 32);
          ha0 = acc8(xl, v128.or(v128.and(v, m4), fifth(h0, 2, false, b4)), ha0);
          hc0 = acc8(xh, v128.or(v128.and(i16x8.shr_u(v, 4), m4), fifth(h0, 2, true, b4)), hc0);
          v = v128.load(qv1, 32);
          ha1 = acc8(xl, v128.or(v128.and(v, m4), fifth(h1, 2, false, b4)), ha1);
          hc1 = acc8(xh, v128.or(v128.and(i16x8.shr_u(v, 4), m4), fifth(h1, 2, true, b4)), hc1);
          xl = v128.load32_splat(xv, 12); xh = v128.load32_splat(xv, 44);
          v = v128.load(qv0, 48);
          ha0 = acc8(xl, v128.or(v128.and(v, m4), fifth(h0, 3, false, b4)), ha0);
          hc0 = acc8(xh, v128.or(v128.and(i16x8.shr_u(v, 4), m4), fifth(h0, 3, true, b4)), hc0);
          v = v128.load(qv1, 48);
          ha1 = acc8(xl, v128.or(v128.and(v, m4), fifth(h1, 3, false, b4)), ha1);
          hc1 = acc8(xh, v128.or(v128.and(i16x8.shr_u(v, 4), m4), fifth(h1, 3, true, b4)), hc1);
          a0 = i32x4.add(a0, fin8(ha0));
          c0 = i32x4.add(c0, fin8(hc0));
          a1 = i32x4.add(a1, fin8(ha1));
          c1 = i32x4.add(c1, fin8(hc1));
        }
        sumi0 = i32x4.add(sumi0, i32x4.mul(a0, u8x4(p + 0 * gb + 16 + (k << 3))));
        sumi0 = i32x4.add(sumi0, i32x4.mul(c0, u8x4(p + 0 * gb + 20 + (k << 3))));
        sumi1 = i32x4.add(sumi1, i32x4.mul(a1, u8x4(p + 1 * gb + 16 + (k << 3))));
        sumi1 = i32x4.add(sumi1, i32x4.mul(c1, u8x4(p + 1 * gb + 20 + (k << 3))));
      }
      const x32 = xsum32(xs + (<usize>b << 6));
      const dx = v128.load32_splat(xd + (<usize>b << 2));
      acc0 = blockMadd(acc0, sumi0, f16x4(p, fm, fs), dx);
      acc0 = blockMsub(acc0, kMinX(p, x32), f16x4(p + 8, fm, fs), dx);
      acc1 = blockMadd(acc1, sumi1, f16x4(p + 1 * gb, fm, fs), dx);
      acc1 = blockMsub(acc1, kMinX(p + 1 * gb, x32), f16x4(p + 1 * gb + 8, fm, fs), dx);
      p += 720;
    }
    storeRows(y, g + 0, rows, acc0);
    storeRows(y, g + 1, rows, acc1);
  }
  for (; g < g1; g++) storeRows(y, g, rows, kGroup(w + <usize>g * gb, xq, xd, xs, nsb, 720, true, m4, b4, fm, fs));
}

/** Q4_K, 4 tokens per pass over a super-block (each chunk unpacked once for 4 tokens); the
 *  per-token integer sums and float steps are matvec_q4_k_r's. Token strides: xq nsb*256, xd
 *  nsb*4, xs nsb*64, y rows*4. */
export function matmul_q4_k_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, nTok: i32, g0: i32, g1: i32): void {
  const m4 = kcNib(), b4 = kcB4();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  const xqs = <usize>nsb << 8;
  const xds = <usize>nsb << 2;
  const xss = <usize>nsb << 6;
  const ys = <usize>rows << 2;
  for (let g = g0; g < g1; g++) {
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = w + <usize>g * <usize>nsb * 592;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let ps = xs + <usize>t * xss;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < nsb; b++) {
        let u0 = i32x4.splat(0), u1 = i32x4.splat(0), u2 = i32x4.splat(0), u3 = i32x4.splat(0);
        for (let k: usize = 0; k < 4; k++) {
          const q = p + 80 + (k << 7);
          const x = x0 + (k << 6);
          // low nibbles (sub-block 2k) for 4 tokens, then high (2k+1): 4 accumulators live
          // i16 pair sums over the 8 chunks (<= 30720, see kBlock), widened once per sub-block
          let c0 = i16x8.splat(0), c1 = i16x8.splat(0), c2 = i16x8.splat(0), c3 = i16x8.splat(0);
          for (let m: usize = 0; m < 8; m++) {
            const lo = v128.and(v128.load(q + (m << 4)), m4);
            const xo = x + (m << 2);
            c0 = acc8(v128.load32_splat(xo), lo, c0);
            c1 = acc8(v128.load32_splat(xo + xqs), lo, c1);
            c2 = acc8(v128.load32_splat(xo + 2 * xqs), lo, c2);
            c3 = acc8(v128.load32_splat(xo + 3 * xqs), lo, c3);
          }
          let sc = scU8(p + 16 + (k << 3));
          u0 = i32x4.add(u0, fin8sc(c0, sc));
          u1 = i32x4.add(u1, fin8sc(c1, sc));
          u2 = i32x4.add(u2, fin8sc(c2, sc));
          u3 = i32x4.add(u3, fin8sc(c3, sc));
          c0 = i16x8.splat(0);
          c1 = i16x8.splat(0);
          c2 = i16x8.splat(0);
          c3 = i16x8.splat(0);
          for (let m: usize = 0; m < 8; m++) {
            const hi = v128.and(i16x8.shr_u(v128.load(q + (m << 4)), 4), m4);
            const xo = x + (m << 2) + 32;
            c0 = acc8(v128.load32_splat(xo), hi, c0);
            c1 = acc8(v128.load32_splat(xo + xqs), hi, c1);
            c2 = acc8(v128.load32_splat(xo + 2 * xqs), hi, c2);
            c3 = acc8(v128.load32_splat(xo + 3 * xqs), hi, c3);
          }
          sc = scU8(p + 20 + (k << 3));
          u0 = i32x4.add(u0, fin8sc(c0, sc));
          u1 = i32x4.add(u1, fin8sc(c1, sc));
          u2 = i32x4.add(u2, fin8sc(c2, sc));
          u3 = i32x4.add(u3, fin8sc(c3, sc));
        }
        const dw = f16x4(p, fm, fs);
        const dm = f16x4(p + 8, fm, fs);
        // the mins as i16 pairs, once for the 4 tokens (kMinX's terms)
        const m0 = minPair(p, 0), m1 = minPair(p, 1), m2 = minPair(p, 2), m3 = minPair(p, 3);
        let dx = v128.load32_splat(pd);
        a0 = blockMadd(a0, u0, dw, dx);
        a0 = blockMsub(a0, kMinP(m0, m1, m2, m3, xsum32(ps)), dm, dx);
        dx = v128.load32_splat(pd + xds);
        a1 = blockMadd(a1, u1, dw, dx);
        a1 = blockMsub(a1, kMinP(m0, m1, m2, m3, xsum32(ps + xss)), dm, dx);
        dx = v128.load32_splat(pd + 2 * xds);
        a2 = blockMadd(a2, u2, dw, dx);
        a2 = blockMsub(a2, kMinP(m0, m1, m2, m3, xsum32(ps + 2 * xss)), dm, dx);
        dx = v128.load32_splat(pd + 3 * xds);
        a3 = blockMadd(a3, u3, dw, dx);
        a3 = blockMsub(a3, kMinP(m0, m1, m2, m3, xsum32(ps + 3 * xss)), dm, dx);
        p += 592;
        x0 += 256;
        pd += 4;
        ps += 64;
      }
      storeTok4(y + <usize>t * ys, ys, g, rows, a0, a1, a2, a3);
    }
    for (; t < nTok; t++) {
      const tt = <usize>t * <usize>nsb;
      storeRows(y + <usize>t * ys, g, rows, kGroup(w + <usize>g * <usize>nsb * 592, xq + (tt << 8), xd + (tt << 2), xs + (tt << 6), nsb, 592, false, m4, b4, fm, fs));
    }
  }
}

export function matmul_q5_k_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, nTok: i32, g0: i32, g1: i32): void {
  const m4 = kcNib(), b4 = kcB4();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++)
    for (let t = 0; t < nTok; t++) {
      const tt = <usize>t * <usize>nsb;
      storeRows(y + ((<usize>t * <usize>rows) << 2), g, rows, kGroup(w + <usize>g * <usize>nsb * 720, xq + (tt << 8), xd + (tt << 2), xs + (tt << 6), nsb, 720, true, m4, b4, fm, fs));
    }
}

// ---------------------------------------------------------------- Q6_K

/** One token's activation sums per 16 columns, 8 of them (i32 at ps) as i16 lanes (|sum| <= 2032). */
// @ts-ignore: decorator
@inline function xs16(ps: usize): v128 {
  return i16x8.narrow_i32x4_s(v128.load(ps), v128.load(ps, 16));
}

/** sum_j sc_j * xsum_j per row of one group-superblock (n0, n1: xs16 of the token's sums). */
// @ts-ignore: decorator
@inline function q6Corr(p: usize, n0: v128, n1: v128): v128 {
  const d0 = i32x4.dot_i16x8_s(sc6Pair(p, 0), v128.shuffle<i32>(n0, n0, 0, 0, 0, 0));
  const d1 = i32x4.dot_i16x8_s(sc6Pair(p, 1), v128.shuffle<i32>(n0, n0, 1, 1, 1, 1));
  const d2 = i32x4.dot_i16x8_s(sc6Pair(p, 2), v128.shuffle<i32>(n0, n0, 2, 2, 2, 2));
  const d3 = i32x4.dot_i16x8_s(sc6Pair(p, 3), v128.shuffle<i32>(n0, n0, 3, 3, 3, 3));
  const d4 = i32x4.dot_i16x8_s(sc6Pair(p, 4), v128.shuffle<i32>(n1, n1, 0, 0, 0, 0));
  const d5 = i32x4.dot_i16x8_s(sc6Pair(p, 5), v128.shuffle<i32>(n1, n1, 1, 1, 1, 1));
  const d6 = i32x4.dot_i16x8_s(sc6Pair(p, 6), v128.shuffle<i32>(n1, n1, 2, 2, 2, 2));
  const d7 = i32x4.dot_i16x8_s(sc6Pair(p, 7), v128.shuffle<i32>(n1, n1, 3, 3, 3, 3));
  return i32x4.add(i32x4.add(i32x4.add(d0, d1), i32x4.add(d2, d3)), i32x4.add(i32x4.add(d4, d5), i32x4.add(d6, d7)));
}

/** The scales sc_{2k}, sc_{2k+1} of the 4 rows (i8 at p+8, [j][row]) as i16 pairs, lanes 2r, 2r+1. */
// @ts-ignore: decorator
@inline function sc6Pair(p: usize, k: usize): v128 {
  const v = i16x8.extend_low_i8x16_s(v128.load64_zero(p + 8 + (k << 3)));
  return v128.shuffle<i16>(v, v, 0, 4, 1, 5, 2, 6, 3, 7);
}

/** sum_j sc_j * (dot_j - 32*xsum_j) of one super-block for one token. */
// @ts-ignore: decorator
@inline function q6Block(p: usize, xb: usize, ps: usize): v128 {
  let sumi = i32x4.splat(0);
  let corr = i32x4.splat(0);
  for (let j: usize = 0; j < 16; j++) {
    const q = p + 72 + (j << 6);
    const x = xb + (j << 4);
    // 6-bit quants: 2 pair dots per i16 sum (<= 2*2*128*63 = 32256)
    const h0 = acc8(v128.load32_splat(x, 4), v128.load(q, 16), dot8s(v128.load32_splat(x), v128.load(q)));
    const h1 = acc8(v128.load32_splat(x, 12), v128.load(q, 48), dot8s(v128.load32_splat(x, 8), v128.load(q, 32)));
    const sc = i8x4(p + 8 + (j << 2));
    sumi = i32x4.add(sumi, i32x4.mul(i32x4.add(fin8(h0), fin8(h1)), sc));
    corr = i32x4.add(corr, i32x4.mul(sc, v128.load32_splat(ps + (j << 2))));
  }
  return i32x4.sub(sumi, i32x4.shl(corr, 5));
}

/** Q6_K matvec, four groups (16 rows) per pass: each activation splat serves all four; per
 *  group the integer sums and float steps are q6Block's (identical results); leftover groups one
 *  at a time. */
export function matvec_q6_k_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, g0: i32, g1: i32): void {
  const fm = f16Mask(rows), fs = f16Scale(rows);
  const gb = <usize>nsb * 1096;
  let g = g0;
  for (; g + 4 <= g1; g += 4) {
    let p = w + <usize>g * gb;
    let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0), acc2 = f32x4.splat(0), acc3 = f32x4.splat(0);
    for (let b = 0; b < nsb; b++) {
      const xb = xq + (<usize>b << 8);
      const ps = xs + (<usize>b << 6);
      let sumi0 = i32x4.splat(0), sumi1 = i32x4.splat(0), sumi2 = i32x4.splat(0), sumi3 = i32x4.splat(0);
      for (let j: usize = 0; j < 16; j++) {
        const q = p + 72 + (j << 6);
        const q1 = q + 1 * gb;
        const q2 = q + 2 * gb;
        const q3 = q + 3 * gb;
        const x = xb + (j << 4);
        const x0 = v128.load32_splat(x), x1 = v128.load32_splat(x, 4);
        const x2 = v128.load32_splat(x, 8), x3 = v128.load32_splat(x, 12);
        {
          const h0 = acc8(x1, v128.load(q, 16), dot8s(x0, v128.load(q)));
          const h1 = acc8(x3, v128.load(q, 48), dot8s(x2, v128.load(q, 32)));
          const sc = scI8(p + 0 * gb + 8 + (j << 2));
          sumi0 = i32x4.add(sumi0, i32x4.add(fin8sc(h0, sc), fin8sc(h1, sc)));
        }
        {
          const h0 = acc8(x1, v128.load(q1, 16), dot8s(x0, v128.load(q1)));
          const h1 = acc8(x3, v128.load(q1, 48), dot8s(x2, v128.load(q1, 32)));
          const sc = scI8(p + 1 * gb + 8 + (j << 2));
          sumi1 = i32x4.add(sumi1, i32x4.add(fin8sc(h0, sc), fin8sc(h1, sc)));
        }
        {
          const h0 = acc8(x1, v128.load(q2, 16), dot8s(x0, v128.load(q2)));
          const h1 = acc8(x3, v128.load(q2, 48), dot8s(x2, v128.load(q2, 32)));
          const sc = scI8(p + 2 * gb + 8 + (j << 2));
          sumi2 = i32x4.add(sumi2, i32x4.add(fin8sc(h0, sc), fin8sc(h1, sc)));
        }
        {
          const h0 = acc8(x1, v128.load(q3, 16), dot8s(x0, v128.load(q3)));
          const h1 = acc8(x3, v128.load(q3, 48), dot8s(x2, v128.load(q3, 32)));
          const sc = scI8(p + 3 * gb + 8 + (j << 2));
          sumi3 = i32x4.add(sumi3, i32x4.add(fin8sc(h0, sc), fin8sc(h1, sc)));
        }
      }
      // the -32 offsets (sc6Pair x xs16, shared activation sums)
      const n0 = xs16(ps), n1 = xs16(ps + 32);
      const corr0 = q6Corr(p + 0 * gb, n0, n1), corr1 = q6Corr(p + 1 * gb, n0, n1);
      const corr2 = q6Corr(p + 2 * gb, n0, n1), corr3 = q6Corr(p + 3 * gb, n0, n1);
      const dx = v128.load32_splat(xd + (<usize>b << 2));
      acc0 = blockMadd(acc0, i32x4.sub(sumi0, i32x4.shl(corr0, 5)), f16x4(p + 0 * gb, fm, fs), dx);
      acc1 = blockMadd(acc1, i32x4.sub(sumi1, i32x4.shl(corr1, 5)), f16x4(p + 1 * gb, fm, fs), dx);
      acc2 = blockMadd(acc2, i32x4.sub(sumi2, i32x4.shl(corr2, 5)), f16x4(p + 2 * gb, fm, fs), dx);
      acc3 = blockMadd(acc3, i32x4.sub(sumi3, i32x4.shl(corr3, 5)), f16x4(p + 3 * gb, fm, fs), dx);
      p += 1096;
    }
    storeGroups4(y, g, rows, acc0, acc1, acc2, acc3);
  }
  for (; g < g1; g++) {
    let p = w + <usize>g * gb;
    let acc = f32x4.splat(0);
    for (let b = 0; b < nsb; b++) {
      const sumi = q6Block(p, xq + (<usize>b << 8), xs + (<usize>b << 6));
      const dx = v128.load32_splat(xd + (<usize>b << 2));
      acc = blockMadd(acc, sumi, f16x4(p, fm, fs), dx);
      p += 1096;
    }
    storeRows(y, g, rows, acc);
  }
}

/** 4 tokens per pass (each weight chunk loaded once for 4 tokens). Token strides: xq nsb*256,
 *  xd nsb*4, xs nsb*64, y rows*4. */
export function matmul_q6_k_r(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, nTok: i32, g0: i32, g1: i32): void {
  const fm = f16Mask(rows), fs = f16Scale(rows);
  const xqs = <usize>nsb << 8;
  const xds = <usize>nsb << 2;
  const xss = <usize>nsb << 6;
  const ys = <usize>rows << 2;
  for (let g = g0; g < g1; g++) {
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = w + <usize>g * <usize>nsb * 1096;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let ps = xs + <usize>t * xss;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < nsb; b++) {
        let u0 = i32x4.splat(0), u1 = i32x4.splat(0), u2 = i32x4.splat(0), u3 = i32x4.splat(0);
        for (let j: usize = 0; j < 16; j++) {
          const q = p + 72 + (j << 6);
          const x = x0 + (j << 4);
          const sc = scI8(p + 8 + (j << 2));
          // 2 pair dots per i16 sum (<= 32256, see q6Block), times the scale (fin8sc)
          for (let m: usize = 0; m < 4; m += 2) {
            const v = v128.load(q + (m << 4));
            const w = v128.load(q + (m << 4), 16);
            const xo = x + (m << 2);
            u0 = i32x4.add(u0, fin8sc(acc8(v128.load32_splat(xo, 4), w, dot8s(v128.load32_splat(xo), v)), sc));
            u1 = i32x4.add(u1, fin8sc(acc8(v128.load32_splat(xo + xqs, 4), w, dot8s(v128.load32_splat(xo + xqs), v)), sc));
            u2 = i32x4.add(u2, fin8sc(acc8(v128.load32_splat(xo + 2 * xqs, 4), w, dot8s(v128.load32_splat(xo + 2 * xqs), v)), sc));
            u3 = i32x4.add(u3, fin8sc(acc8(v128.load32_splat(xo + 3 * xqs, 4), w, dot8s(v128.load32_splat(xo + 3 * xqs), v)), sc));
          }
        }
        // the -32 offsets: sum_j sc_j * xsum_j per token (q6Corr: i16 pair dots, exact)
        const k0 = q6Corr(p, xs16(ps), xs16(ps + 32));
        const k1 = q6Corr(p, xs16(ps + xss), xs16(ps + xss + 32));
        const k2 = q6Corr(p, xs16(ps + 2 * xss), xs16(ps + 2 * xss + 32));
        const k3 = q6Corr(p, xs16(ps + 3 * xss), xs16(ps + 3 * xss + 32));
        const dw = f16x4(p, fm, fs);
        a0 = blockMadd(a0, i32x4.sub(u0, i32x4.shl(k0, 5)), dw, v128.load32_splat(pd));
        a1 = blockMadd(a1, i32x4.sub(u1, i32x4.shl(k1, 5)), dw, v128.load32_splat(pd + xds));
        a2 = blockMadd(a2, i32x4.sub(u2, i32x4.shl(k2, 5)), dw, v128.load32_splat(pd + 2 * xds));
        a3 = blockMadd(a3, i32x4.sub(u3, i32x4.shl(k3, 5)), dw, v128.load32_splat(pd + 3 * xds));
        p += 1096;
        x0 += 256;
        pd += 4;
        ps += 64;
      }
      storeTok4(y + <usize>t * ys, ys, g, rows, a0, a1, a2, a3);
    }
    for (; t < nTok; t++) {
      const tt = <usize>t * <usize>nsb;
      matvec_q6_k_r(w, xq + (tt << 8), xd + (tt << 2), xs + (tt << 6), y + <usize>t * ys, rows, nsb, g, g + 1);
    }
  }
}

/** Self-check of dot8 for the loader: out[0..4) = dot8(x[16], w[16], acc[4]) summed over n
 *  16-byte steps (x at a, w at b, acc at c); out[4..8) the same through dot8h + widen8. */
export function probe_dot8(a: usize, b: usize, c: usize, n: i32, out: usize): void {
  let s = v128.load(c);
  for (let i = 0; i < n; i++) s = dot8(v128.load(a + (<usize>i << 4)), v128.load(b + (<usize>i << 4)), s);
  v128.store(out, s);
  // out[4..8): the same sums through the i16 pair dot (dot8h) and widen8
  s = v128.load(c);
  for (let i = 0; i < n; i++) s = i32x4.add(s, widen8(dot8h(v128.load(a + (<usize>i << 4)), v128.load(b + (<usize>i << 4)))));
  v128.store(out, s, 16);
}
