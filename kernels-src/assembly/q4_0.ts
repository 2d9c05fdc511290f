// Q4_0 weights, repacked 4 rows per group (see src/kernels/wasm/repack.ts):
// per group and 32-column block, 72 bytes: d[4] fp16 (8 B), then 4 chunks of 16 B; chunk m holds,
// in its low nibbles, columns 4m..4m+3 of the 4 rows as pairs [r0c0 r0c1 r1c0 r1c1 ...] (as in
// q8_0.ts) and in its high nibbles columns 16+4m..16+4m+3 in the same order.
// Quants are used unsigned (0..15); the -8 offset is applied once per block as -8*sum(xq).
import { f16x4, storeRows } from "./common";

/** y[r] = sum_b dW*dX*(dot(q, xq) - 8*sum(xq)) over blocks, groups g0..g1-1. */
export function matvec_q4_0(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  const m4 = i8x16.splat(0x0f);
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * <usize>nb * 72;
    let xb = xq;
    let pd = xd;
    let ps = xs;
    let acc = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      let v = v128.load(p, 8);
      let lo = v128.and(v, m4);
      let hi = i8x16.shr_u(v, 4);
      let s0 = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), v128.load32_splat(xb, 0));
      let s1 = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), v128.load32_splat(xb, 4));
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), v128.load32_splat(xb, 32)));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), v128.load32_splat(xb, 36)));
      v = v128.load(p, 24);
      lo = v128.and(v, m4);
      hi = i8x16.shr_u(v, 4);
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), v128.load32_splat(xb, 8)));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), v128.load32_splat(xb, 12)));
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), v128.load32_splat(xb, 40)));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), v128.load32_splat(xb, 44)));
      v = v128.load(p, 40);
      lo = v128.and(v, m4);
      hi = i8x16.shr_u(v, 4);
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), v128.load32_splat(xb, 16)));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), v128.load32_splat(xb, 20)));
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), v128.load32_splat(xb, 48)));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), v128.load32_splat(xb, 52)));
      v = v128.load(p, 56);
      lo = v128.and(v, m4);
      hi = i8x16.shr_u(v, 4);
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), v128.load32_splat(xb, 24)));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), v128.load32_splat(xb, 28)));
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), v128.load32_splat(xb, 56)));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), v128.load32_splat(xb, 60)));
      const si = i32x4.sub(i32x4.add(s0, s1), i32x4.shl(v128.load32_splat(ps), 3));
      const d = f32x4.mul(f16x4(p), v128.load32_splat(pd));
      acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(si), d));
      p += 72;
      xb += 64;
      pd += 4;
      ps += 4;
    }
    storeRows(y, g, rows, acc);
  }
}

/** Y[t][r] for nTok tokens, 4 tokens per weight pass; strides as in matmul_q8_0 (xs like xd). */
export function matmul_q4_0(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  const xqs = <usize>nb << 6;
  const xds = <usize>nb << 2;
  const ys = <usize>rows << 2;
  const m4 = i8x16.splat(0x0f);
  for (let g = g0; g < g1; g++) {
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = w + <usize>g * <usize>nb * 72;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let ps = xs + <usize>t * xds;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
        const x1 = x0 + xqs, x2 = x1 + xqs, x3 = x2 + xqs;
        for (let k: usize = 0; k < 64; k += 16) {
          const v = v128.load(p + k, 8);
          const nl = v128.and(v, m4);
          const xo = k >> 1;
          let lo = i16x8.extend_low_i8x16_u(nl);
          let hi = i16x8.extend_high_i8x16_u(nl);
          s0 = i32x4.add(s0, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x0 + xo)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x0 + xo, 4))));
          s1 = i32x4.add(s1, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x1 + xo)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x1 + xo, 4))));
          s2 = i32x4.add(s2, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x2 + xo)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x2 + xo, 4))));
          s3 = i32x4.add(s3, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x3 + xo)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x3 + xo, 4))));
          const nh = i8x16.shr_u(v, 4);
          lo = i16x8.extend_low_i8x16_u(nh);
          hi = i16x8.extend_high_i8x16_u(nh);
          s0 = i32x4.add(s0, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x0 + xo, 32)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x0 + xo, 36))));
          s1 = i32x4.add(s1, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x1 + xo, 32)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x1 + xo, 36))));
          s2 = i32x4.add(s2, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x2 + xo, 32)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x2 + xo, 36))));
          s3 = i32x4.add(s3, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x3 + xo, 32)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x3 + xo, 36))));
        }
        const dw = f16x4(p);
        s0 = i32x4.sub(s0, i32x4.shl(v128.load32_splat(ps), 3));
        s1 = i32x4.sub(s1, i32x4.shl(v128.load32_splat(ps + xds), 3));
        s2 = i32x4.sub(s2, i32x4.shl(v128.load32_splat(ps + 2 * xds), 3));
        s3 = i32x4.sub(s3, i32x4.shl(v128.load32_splat(ps + 3 * xds), 3));
        a0 = f32x4.add(a0, f32x4.mul(f32x4.convert_i32x4_s(s0), f32x4.mul(dw, v128.load32_splat(pd))));
        a1 = f32x4.add(a1, f32x4.mul(f32x4.convert_i32x4_s(s1), f32x4.mul(dw, v128.load32_splat(pd + xds))));
        a2 = f32x4.add(a2, f32x4.mul(f32x4.convert_i32x4_s(s2), f32x4.mul(dw, v128.load32_splat(pd + 2 * xds))));
        a3 = f32x4.add(a3, f32x4.mul(f32x4.convert_i32x4_s(s3), f32x4.mul(dw, v128.load32_splat(pd + 3 * xds))));
        p += 72;
        x0 += 64;
        pd += 4;
        ps += 4;
      }
      const yo = y + <usize>t * ys;
      storeRows(yo, g, rows, a0);
      storeRows(yo + ys, g, rows, a1);
      storeRows(yo + 2 * ys, g, rows, a2);
      storeRows(yo + 3 * ys, g, rows, a3);
    }
    for (; t < nTok; t++) {
      matvec_q4_0(w, xq + <usize>t * xqs, xd + <usize>t * xds, xs + <usize>t * xds, y + <usize>t * ys, rows, nb, g, g + 1);
    }
  }
}
