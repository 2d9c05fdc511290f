// Q2_K and Q3_K weights ("k16": 16-column sub-blocks with a scale, and a min, each), repacked at
// load time (src/kernels/wasm/layout-k16.ts) 4 rows per group, per 256-column super-block 656 B:
//   [0,8) d[4] fp16 | [8,16) dmin[4] fp16 | [16,80) scale[j][row] i8 | [80,144) min[j][row] i8
//   [144,656) 8 blocks of 32 columns x 64 B: chunk m (16 B) holds columns 4m..4m+3 of the
//             block (sub-block 2i) in its low nibbles and 16+4m..16+4m+3 (sub-block 2i+1) in its
//             high nibbles, byte 4*row + c (the int8-dot order, dot8.ts); quants u in 0..15.
// Row value: d*sc_j*u - dmin*min_j.  Q2_K: u = q (0..3), sc/min its 4-bit pairs.  Q3_K: u = q+4
// (0..7), sc = the signed 6-bit scale, dmin = d, min = 4*sc (so d*sc*(u-4)).
// Dot with Q8_K int8 activations (quantize_q8_k_i8): per super-block
//   d*dx*sum_j sc_j*dot_j(u, x) - dmin*dx*sum_j min_j*xsum_j    (ggml's order for Q2_K)
// via dot8 (relaxed_dot in the relaxed build, exact i16 emulation in SIMD128).
import { f16Mask, f16Scale, f16x4, i8x4, storeRows, dot8, kcNib, blockMadd, blockMsub } from "./common";

// @ts-ignore: decorator
@inline function k16Group(p: usize, xq: usize, xd: usize, xs: usize, nsb: i32, m4: v128, fm: v128, fs: v128): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) {
    const xb = xq + (<usize>b << 8);
    const ps = xs + (<usize>b << 6);
    let sumi = i32x4.splat(0);
    let summ = i32x4.splat(0);
    for (let i: usize = 0; i < 8; i++) {
      const q = p + 144 + (i << 6);
      const x = xb + (i << 5);
      let a = i32x4.splat(0);
      let c = i32x4.splat(0);
      for (let m: usize = 0; m < 4; m++) {
        const v = v128.load(q + (m << 4));
        a = dot8(v128.load32_splat(x + (m << 2)), v128.and(v, m4), a);
        c = dot8(v128.load32_splat(x + (m << 2), 16), v128.and(i16x8.shr_u(v, 4), m4), c);
      }
      sumi = i32x4.add(sumi, i32x4.mul(a, i8x4(p + 16 + (i << 3))));
      sumi = i32x4.add(sumi, i32x4.mul(c, i8x4(p + 20 + (i << 3))));
      summ = i32x4.add(summ, i32x4.mul(i8x4(p + 80 + (i << 3)), v128.load32_splat(ps + (i << 3))));
      summ = i32x4.add(summ, i32x4.mul(i8x4(p + 84 + (i << 3)), v128.load32_splat(ps + (i << 3), 4)));
    }
    const dx = v128.load32_splat(xd + (<usize>b << 2));
    acc = blockMadd(acc, sumi, f16x4(p, fm, fs), dx);
    acc = blockMsub(acc, summ, f16x4(p + 8, fm, fs), dx);
    p += 656;
  }
  return acc;
}

export function matvec_k16(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, g0: i32, g1: i32): void {
  const m4 = kcNib();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) storeRows(y, g, rows, k16Group(w + <usize>g * <usize>nsb * 656, xq, xd, xs, nsb, m4, fm, fs));
}

/** Token strides: xq nsb*256, xd nsb*4, xs nsb*64, y rows*4 (groups outer: a group's weights
 *  stay in cache while the tokens pass). */
export function matmul_k16(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, nTok: i32, g0: i32, g1: i32): void {
  const m4 = kcNib();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++)
    for (let t = 0; t < nTok; t++) {
      const tt = <usize>t * <usize>nsb;
      storeRows(y + ((<usize>t * <usize>rows) << 2), g, rows, k16Group(w + <usize>g * <usize>nsb * 656, xq + (tt << 8), xd + (tt << 2), xs + (tt << 6), nsb, m4, fm, fs));
    }
}
