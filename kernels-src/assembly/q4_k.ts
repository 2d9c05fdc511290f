// Q4_K and Q5_K weights, repacked 4 rows per group (see src/kernels/wasm/repack.ts): per group
// and 256-column super-block, Q4_K 592 bytes, Q5_K 720:
//   [0,8) d[4] fp16 | [8,16) dmin[4] fp16 | [16,48) scale[j][row] u8 | [48,80) min[j][row] u8
//   [80,592) 4 x 128 B, one per sub-block pair (2k, 2k+1): chunk m (16 B) holds columns
//   4m..4m+3 of sub-block 2k in its low nibbles and of sub-block 2k+1 in its high nibbles,
//   as row-interleaved pairs (see q8_0.ts).
//   Q5_K only: [592,720) 4 x 32 B fifth bits, per pair k two 16-byte vectors; vector m>>2 holds,
//   at the byte position of chunk m's nibble byte, the low element's 5th bit in bit m&3 and the
//   high element's in bit (m&3)+4. Nibble and qh bytes of both types are in i16-lane order
//   (repack.ts pos16).
// Activation: Q8_K widened to i16 (512 B per super-block), d f32, sums per 16 quants (i32).
// Row result per super-block: d*dx*sum_j sc_j*dot_j - dmin*dx*sum_j m_j*xsum_j (ggml order).
import { f16Mask, f16Scale, f16x4, u8x4, storeRows, kcNib16, kcB416, blockMadd, blockMsub } from "./common";

/** Q5_K chunk m = 4*(vector index) + b of a pair (i16-lane byte order like Q4_K; h = the qh
 *  vector, whose byte at a nibble byte's position holds the low element's 5th bit in bit b and
 *  the high element's in bit b+4): the dots of the low (upper = false: sub-block 2k, activation
 *  pairs from lo) or high (sub-block 2k+1, from hi) elements, added to s. Odd chunks use the
 *  upper two i32 lanes of lo/hi. m = i16 splat 0x0f, b4 = i16 splat 0x10. */
// @ts-ignore: decorator
@inline function five(v: v128, h: v128, b: i32, lo: v128, hi: v128, upper: bool, m: v128, b4: v128, s: v128): v128 {
  const odd = (b & 1) != 0;
  let q0: v128, q1: v128, x0: v128, x1: v128;
  if (!upper) {
    q0 = v128.or(v128.and(v, m), v128.and(i16x8.shl(h, 4 - b), b4)); // even bytes: bit b -> 4
    q1 = v128.or(v128.and(i16x8.shr_u(v, 8), m), v128.and(i16x8.shr_u(h, 4 + b), b4)); // odd: bit 8+b
    x0 = odd ? v128.shuffle<i32>(lo, lo, 2, 2, 2, 2) : v128.shuffle<i32>(lo, lo, 0, 0, 0, 0);
    x1 = odd ? v128.shuffle<i32>(lo, lo, 3, 3, 3, 3) : v128.shuffle<i32>(lo, lo, 1, 1, 1, 1);
  } else {
    q0 = v128.or(v128.and(i16x8.shr_u(v, 4), m), v128.and(i16x8.shr_u(h, b), b4)); // bit b+4
    q1 = v128.or(i16x8.shr_u(v, 12), v128.and(i16x8.shr_u(h, 8 + b), b4)); // bit 12+b
    x0 = odd ? v128.shuffle<i32>(hi, hi, 2, 2, 2, 2) : v128.shuffle<i32>(hi, hi, 0, 0, 0, 0);
    x1 = odd ? v128.shuffle<i32>(hi, hi, 3, 3, 3, 3) : v128.shuffle<i32>(hi, hi, 1, 1, 1, 1);
  }
  s = i32x4.add(s, i32x4.dot_i16x8_s(q0, x0));
  return i32x4.add(s, i32x4.dot_i16x8_s(q1, x1));
}

/** Integer part of one super-block for one token: sum_j sc_j*dot_j (i32x4, one lane per row).
 *  m16 = i16 splat 0x0f; b4 = i16 splat 0x10 (Q5_K fifth bit). */
// @ts-ignore: decorator
@inline function sbDot(p: usize, xb: usize, QH: usize, high: bool, m16: v128, b4: v128): v128 {
  let sumi = i32x4.splat(0);
  for (let k: usize = 0; k < 4; k++) {
    const q = p + 80 + (k << 7);
    const x = xb + (k << 7);
    let a: v128, c: v128;
    if (!high) {
      // activations of sub-blocks 2k (x) and 2k+1 (x+64) read as vectors, pairs broadcast by
      // shuffles (see q4_0.ts chunkEven/chunkOdd)
      a = i32x4.splat(0);
      c = i32x4.splat(0);
      for (let n: usize = 0; n < 4; n++) {
        const lo = v128.load(x + (n << 4));
        const hi = v128.load(x + (n << 4), 64);
        const v0 = v128.load(q + (n << 5));
        const v1 = v128.load(q + (n << 5), 16);
        a = i32x4.add(a, i32x4.dot_i16x8_s(v128.and(v0, m16), v128.shuffle<i32>(lo, lo, 0, 0, 0, 0)));
        a = i32x4.add(a, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v0, 8), m16), v128.shuffle<i32>(lo, lo, 1, 1, 1, 1)));
        c = i32x4.add(c, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v0, 4), m16), v128.shuffle<i32>(hi, hi, 0, 0, 0, 0)));
        c = i32x4.add(c, i32x4.dot_i16x8_s(i16x8.shr_u(v0, 12), v128.shuffle<i32>(hi, hi, 1, 1, 1, 1)));
        a = i32x4.add(a, i32x4.dot_i16x8_s(v128.and(v1, m16), v128.shuffle<i32>(lo, lo, 2, 2, 2, 2)));
        a = i32x4.add(a, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v1, 8), m16), v128.shuffle<i32>(lo, lo, 3, 3, 3, 3)));
        c = i32x4.add(c, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v1, 4), m16), v128.shuffle<i32>(hi, hi, 2, 2, 2, 2)));
        c = i32x4.add(c, i32x4.dot_i16x8_s(i16x8.shr_u(v1, 12), v128.shuffle<i32>(hi, hi, 3, 3, 3, 3)));
      }
    } else {
      // Q5_K: the same i16-lane nibbles plus fifth bits from the two qh vectors of pair k
      a = i32x4.splat(0);
      c = i32x4.splat(0);
      // a loop over the two qh vectors (not unrolled) keeps V8 from hoisting all 32 loads of
      // the pair to the top and spilling them
      for (let vi: usize = 0; vi < 2; vi++) {
        const h = v128.load(p + QH + (k << 5) + (vi << 4));
        const qv = q + (vi << 6);
        const xv = x + (vi << 5);
        a = five(v128.load(qv), h, 0, v128.load(xv), v128.load(xv, 64), false, m16, b4, a);
        c = five(v128.load(qv), h, 0, v128.load(xv), v128.load(xv, 64), true, m16, b4, c);
        a = five(v128.load(qv, 16), h, 1, v128.load(xv), v128.load(xv, 64), false, m16, b4, a);
        c = five(v128.load(qv, 16), h, 1, v128.load(xv), v128.load(xv, 64), true, m16, b4, c);
        a = five(v128.load(qv, 32), h, 2, v128.load(xv, 16), v128.load(xv, 80), false, m16, b4, a);
        c = five(v128.load(qv, 32), h, 2, v128.load(xv, 16), v128.load(xv, 80), true, m16, b4, c);
        a = five(v128.load(qv, 48), h, 3, v128.load(xv, 16), v128.load(xv, 80), false, m16, b4, a);
        c = five(v128.load(qv, 48), h, 3, v128.load(xv, 16), v128.load(xv, 80), true, m16, b4, c);
      }
    }
    sumi = i32x4.add(sumi, i32x4.mul(a, u8x4(p + 16 + (k << 3))));
    sumi = i32x4.add(sumi, i32x4.mul(c, u8x4(p + 20 + (k << 3))));
  }
  return sumi;
}

/** sum_j m_j * xsum_j for one super-block (xsum_j = sum of the 32 quants of sub-block j). */
// @ts-ignore: decorator
@inline function sbMin(p: usize, ps: usize): v128 {
  let summ = i32x4.splat(0);
  for (let j: usize = 0; j < 8; j++) {
    const s = load<i32>(ps + (j << 3)) + load<i32>(ps + (j << 3), 4);
    summ = i32x4.add(summ, i32x4.mul(u8x4(p + 48 + (j << 2)), i32x4.splat(s)));
  }
  return summ;
}

/** One group, one token, nsb super-blocks. */
// @ts-ignore: decorator
@inline function group(p: usize, xq: usize, xd: usize, xs: usize, nsb: i32, GB: usize, high: bool, m16: v128, b4: v128, fm: v128, fs: v128): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) {
    const sumi = sbDot(p, xq + (<usize>b << 9), 592, high, m16, b4);
    const summ = sbMin(p, xs + (<usize>b << 6));
    const dx = v128.load32_splat(xd + (<usize>b << 2));
    acc = blockMadd(acc, sumi, f16x4(p, fm, fs), dx);
    acc = blockMsub(acc, summ, f16x4(p + 8, fm, fs), dx);
    p += GB;
  }
  return acc;
}

export function matvec_q4_k(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, g0: i32, g1: i32): void {
  const m16 = kcNib16(), b4 = kcB416();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) storeRows(y, g, rows, group(w + <usize>g * <usize>nsb * 592, xq, xd, xs, nsb, 592, false, m16, b4, fm, fs));
}

export function matvec_q5_k(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, g0: i32, g1: i32): void {
  const m16 = kcNib16(), b4 = kcB416();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) storeRows(y, g, rows, group(w + <usize>g * <usize>nsb * 720, xq, xd, xs, nsb, 720, true, m16, b4, fm, fs));
}

/** Dots of one sub-block (8 chunks at q, low or high nibbles) with 4 tokens' activations
 *  (x, x+xqs, ...), then scaled by the sub-block scale sc and added to u[t]. */
// @ts-ignore: decorator
@inline function sub4(q: usize, x: usize, xqs: usize, upper: bool, m: v128, sc: v128, u: v128, t: i32): v128 {
  // one token per call keeps only 3 accumulators live (V8 does not schedule for register pressure)
  const xt = x + <usize>t * xqs;
  let s = i32x4.splat(0);
  for (let k: usize = 0; k < 128; k += 16) {
    const v = v128.load(q + k);
    const xo = xt + (k >> 1);
    if (!upper) {
      s = i32x4.add(s, i32x4.dot_i16x8_s(v128.and(v, m), v128.load32_splat(xo)));
      s = i32x4.add(s, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v, 8), m), v128.load32_splat(xo, 4)));
    } else {
      s = i32x4.add(s, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v, 4), m), v128.load32_splat(xo, 64)));
      s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.shr_u(v, 12), v128.load32_splat(xo, 68)));
    }
  }
  return i32x4.add(u, i32x4.mul(s, sc));
}

/** Y[t][r] for nTok tokens. Q4_K: 2 tokens per pass over a group's super-block (its 592 bytes
 *  stay in L1 while both tokens use them), integer sums identical to matvec_q4_k's, so results
 *  do not depend on the token split. Token strides: xq nsb*512, xd nsb*4, xs nsb*64, y rows*4. */
export function matmul_q4_k(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, nTok: i32, g0: i32, g1: i32): void {
  const m16 = kcNib16();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  const xqs = <usize>nsb << 9;
  const xds = <usize>nsb << 2;
  const xss = <usize>nsb << 6;
  const ys = <usize>rows << 2;
  for (let g = g0; g < g1; g++) {
    let t = 0;
    for (; t + 2 <= nTok; t += 2) {
      let p = w + <usize>g * <usize>nsb * 592;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let ps = xs + <usize>t * xss;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
      for (let b = 0; b < nsb; b++) {
        let u0 = i32x4.splat(0), u1 = i32x4.splat(0);
        for (let k: usize = 0; k < 4; k++) {
          const q = p + 80 + (k << 7);
          const x = x0 + (k << 7);
          const sa = u8x4(p + 16 + (k << 3));
          const sc = u8x4(p + 20 + (k << 3));
          u0 = sub4(q, x, xqs, false, m16, sa, u0, 0);
          u1 = sub4(q, x, xqs, false, m16, sa, u1, 1);
          u0 = sub4(q, x, xqs, true, m16, sc, u0, 0);
          u1 = sub4(q, x, xqs, true, m16, sc, u1, 1);
        }
        const dw = f16x4(p, fm, fs);
        const dm = f16x4(p + 8, fm, fs);
        let dx = v128.load32_splat(pd);
        a0 = blockMadd(a0, u0, dw, dx);
        a0 = blockMsub(a0, sbMin(p, ps), dm, dx);
        dx = v128.load32_splat(pd + xds);
        a1 = blockMadd(a1, u1, dw, dx);
        a1 = blockMsub(a1, sbMin(p, ps + xss), dm, dx);
        p += 592;
        x0 += 512;
        pd += 4;
        ps += 64;
      }
      const yo = y + <usize>t * ys;
      storeRows(yo, g, rows, a0);
      storeRows(yo + ys, g, rows, a1);
    }
    for (; t < nTok; t++) {
      const tt = <usize>t * <usize>nsb;
      matvec_q4_k(w, xq + (tt << 9), xd + (tt << 2), xs + (tt << 6), y + <usize>t * ys, rows, nsb, g, g + 1);
    }
  }
}

export function matmul_q5_k(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, nTok: i32, g0: i32, g1: i32): void {
  const m16 = kcNib16(), b4 = kcB416();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++)
    for (let t = 0; t < nTok; t++) {
      const tt = <usize>t * <usize>nsb;
      storeRows(y + ((<usize>t * <usize>rows) << 2), g, rows, group(w + <usize>g * <usize>nsb * 720, xq + (tt << 9), xd + (tt << 2), xs + (tt << 6), nsb, 720, true, m16, b4, fm, fs));
    }
}
