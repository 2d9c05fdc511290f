// Q8_0 weights, repacked 4 rows per group (see src/kernels/wasm/repack.ts):
// per group and 32-column block, 136 bytes: d[4] fp16 (8 B), then 8 chunks of 16 B; chunk k holds
// columns 4k..4k+3 of the 4 rows as int8 pairs [r0c0 r0c1 r1c0 r1c1 r2c0 r2c1 r3c0 r3c1 | same for
// c2 c3], so i32x4.dot_i16x8_s against a splatted (c0,c1) i16 pair yields one lane per row.
// Activations: "Q8 widened" from quantize_q8_0 (i16 quants, 64 B per block; f32 d per block).
import { f16Mask, f16Scale, f16x4, storeRows, blockMadd, storeTok4, storeGroups4 } from "./common";

/** One group at a time (the odd last group of matvec_q8_0). */
// @ts-ignore: decorator
@inline function mvQ8Single(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * <usize>nb * 136;
    let xb = xq;
    let pd = xd;
    let acc = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      let s0 = i32x4.splat(0);
      let s1 = i32x4.splat(0);
      // chunk k: columns 4k..4k+3 (low half: c0 c1, high half: c2 c3) against activation pairs
      for (let k: usize = 0; k < 128; k += 16) {
        const w = v128.load(p + k, 8);
        s0 = i32x4.add(s0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), v128.load32_splat(xb + (k >> 1))));
        s1 = i32x4.add(s1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), v128.load32_splat(xb + (k >> 1), 4)));
      }
      acc = blockMadd(acc, i32x4.add(s0, s1), f16x4(p, fm, fs), v128.load32_splat(pd));
      p += 136;
      xb += 64;
      pd += 4;
    }
    storeRows(y, g, rows, acc);
  }
}

/** y[r] = sum_b dW[r,b]*dX[b]*dot_i8(W[r,b], X[b]) for groups g0..g1-1 (rows 4g..4g+3), four
 *  groups per pass (each activation splat serves 16 rows); per group the sums and float steps are
 *  mvQ8Single's, so results are identical; leftover groups one at a time. */
export function matvec_q8_0(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  const fm = f16Mask(rows), fs = f16Scale(rows);
  const gb = <usize>nb * 136;
  let g = g0;
  for (; g + 4 <= g1; g += 4) {
    let p0 = w + <usize>g * gb, p1 = p0 + 1 * gb, p2 = p0 + 2 * gb, p3 = p0 + 3 * gb;
    let xb = xq;
    let pd = xd;
    let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0), acc2 = f32x4.splat(0), acc3 = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      let s0 = i32x4.splat(0), t0 = i32x4.splat(0), s1 = i32x4.splat(0), t1 = i32x4.splat(0), s2 = i32x4.splat(0), t2 = i32x4.splat(0), s3 = i32x4.splat(0), t3 = i32x4.splat(0);
      // chunk k of the four groups against one activation pair each (as mvQ8Single)
      for (let k: usize = 0; k < 128; k += 16) {
        const v0 = v128.load(p0 + k, 8), v1 = v128.load(p1 + k, 8), v2 = v128.load(p2 + k, 8), v3 = v128.load(p3 + k, 8);
        let x = v128.load32_splat(xb + (k >> 1));
        s0 = i32x4.add(s0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v0), x));
        s1 = i32x4.add(s1, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v1), x));
        s2 = i32x4.add(s2, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v2), x));
        s3 = i32x4.add(s3, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v3), x));
        x = v128.load32_splat(xb + (k >> 1), 4);
        t0 = i32x4.add(t0, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v0), x));
        t1 = i32x4.add(t1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v1), x));
        t2 = i32x4.add(t2, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v2), x));
        t3 = i32x4.add(t3, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v3), x));
      }
      const dx = v128.load32_splat(pd);
      acc0 = blockMadd(acc0, i32x4.add(s0, t0), f16x4(p0, fm, fs), dx);
      acc1 = blockMadd(acc1, i32x4.add(s1, t1), f16x4(p1, fm, fs), dx);
      acc2 = blockMadd(acc2, i32x4.add(s2, t2), f16x4(p2, fm, fs), dx);
      acc3 = blockMadd(acc3, i32x4.add(s3, t3), f16x4(p3, fm, fs), dx);
      p0 += 136;
      p1 += 136;
      p2 += 136;
      p3 += 136;
      xb += 64;
      pd += 4;
    }
    storeGroups4(y, g, rows, acc0, acc1, acc2, acc3);
  }
  if (g < g1) mvQ8Single(w, xq, xd, y, rows, nb, g, g1);
}

/** Y[t][r] for nTok tokens (4 at a time, sharing each weight load); X quantized as for matvec.
 *  Token stride in xq is nb*64 bytes, in xd nb*4, in Y rows*4. */
export function matmul_q8_0(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  const xqs = <usize>nb << 6;
  const xds = <usize>nb << 2;
  const ys = <usize>rows << 2;
  const fm = f16Mask(rows), fs = f16Scale(rows);
  // Groups outer: a group's weights (nb*136 B) stay in cache while all tokens pass over them.
  for (let g = g0; g < g1; g++) {
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = w + <usize>g * <usize>nb * 136;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
        const x1 = x0 + xqs, x2 = x1 + xqs, x3 = x2 + xqs;
        for (let k: usize = 0; k < 128; k += 16) {
          const wv = v128.load(p + k, 8);
          const lo = i16x8.extend_low_i8x16_s(wv);
          const hi = i16x8.extend_high_i8x16_s(wv);
          const xo = k >> 1;
          s0 = i32x4.add(s0, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x0 + xo)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x0 + xo, 4))));
          s1 = i32x4.add(s1, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x1 + xo)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x1 + xo, 4))));
          s2 = i32x4.add(s2, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x2 + xo)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x2 + xo, 4))));
          s3 = i32x4.add(s3, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load32_splat(x3 + xo)), i32x4.dot_i16x8_s(hi, v128.load32_splat(x3 + xo, 4))));
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
    for (; t < nTok; t++) {
      matvec_q8_0(w, xq + <usize>t * xqs, xd + <usize>t * xds, y + <usize>t * ys, rows, nb, g, g + 1);
    }
  }
}
