// Q4_0 weights, repacked 4 rows per group (see src/kernels/wasm/repack.ts):
// per group and 32-column block, 72 bytes: d[4] fp16 (8 B), then 4 chunks of 16 B. Chunk m
// covers columns 4m..4m+3 (low nibbles) and 16+4m..16+4m+3 (high nibbles); row ri's column
// c (0..3) sits in byte 4*ri + 2*(c&1) + (c>>1) ("i16-lane order", pos16 in repack.ts). Read as
// i16x8, lane 2ri+j then holds row ri's columns (j, 2+j) in its low byte and high byte, so four
// shifts/masks give the i16 quants of column pairs (c0,c1), (c2,c3), (16+c0,16+c1),
// (16+c2,16+c3) for all 4 rows, ready for i32x4.dot_i16x8_s against splatted activation pairs
// (no i8->i16 extends, no emulated i8 shifts).
// Quants are used unsigned (0..15); the -8 offset is applied once per block as -8*sum(xq).
import { f16Mask, f16Scale, f16x4, storeRows, kcNib16, blockMadd, storeTok4 } from "./common";

/** Chunk m's dots with activation pairs taken from registers: lo = the 8 i16 activations of
 *  columns 8*(m>>1).. (pairs in i32 lanes 0,1 for even m, 2,3 for odd m), hi = the same for
 *  columns 16+8*(m>>1).. (shuffle lanes must be literals, hence two copies). */
// @ts-ignore: decorator
@inline function chunkEven(v: v128, lo: v128, hi: v128, s: v128, k: v128): v128 {
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.and(v, k), v128.shuffle<i32>(lo, lo, 0, 0, 0, 0)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v, 8), k), v128.shuffle<i32>(lo, lo, 1, 1, 1, 1)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v, 4), k), v128.shuffle<i32>(hi, hi, 0, 0, 0, 0)));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.shr_u(v, 12), v128.shuffle<i32>(hi, hi, 1, 1, 1, 1)));
}
// @ts-ignore: decorator
@inline function chunkOdd(v: v128, lo: v128, hi: v128, s: v128, k: v128): v128 {
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.and(v, k), v128.shuffle<i32>(lo, lo, 2, 2, 2, 2)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v, 8), k), v128.shuffle<i32>(lo, lo, 3, 3, 3, 3)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.and(i16x8.shr_u(v, 4), k), v128.shuffle<i32>(hi, hi, 2, 2, 2, 2)));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.shr_u(v, 12), v128.shuffle<i32>(hi, hi, 3, 3, 3, 3)));
}

/** y[r] = sum_b dW*dX*(dot(q, xq) - 8*sum(xq)) over blocks, groups g0..g1-1. The activation
 *  block is read as 4 vectors and its pairs broadcast by shuffles (fewer live registers than
 *  16 broadcast loads, which V8 hoists and spills). */
export function matvec_q4_0(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  const m = kcNib16();
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * <usize>nb * 72;
    let xb = xq;
    let pd = xd;
    let ps = xs;
    let acc = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      // two independent chains (chunks 0,2 and 1,3) for instruction-level parallelism
      let lo = v128.load(xb);
      let hi = v128.load(xb, 32);
      let s0 = chunkEven(v128.load(p, 8), lo, hi, i32x4.splat(0), m);
      let s1 = chunkOdd(v128.load(p, 24), lo, hi, i32x4.splat(0), m);
      lo = v128.load(xb, 16);
      hi = v128.load(xb, 48);
      s0 = chunkEven(v128.load(p, 40), lo, hi, s0, m);
      s1 = chunkOdd(v128.load(p, 56), lo, hi, s1, m);
      const si = i32x4.sub(i32x4.add(s0, s1), i32x4.shl(v128.load32_splat(ps), 3));
      acc = blockMadd(acc, si, f16x4(p, fm, fs), v128.load32_splat(pd));
      p += 72;
      xb += 64;
      pd += 4;
      ps += 4;
    }
    storeRows(y, g, rows, acc);
  }
}

/** One token's dots with a chunk's four quant vectors; x = the token's activation at the chunk. */
// @ts-ignore: decorator
@inline function tok4(q0: v128, q1: v128, q2: v128, q3: v128, x: usize, s: v128): v128 {
  const lo = v128.load64_zero(x);
  const hi = v128.load64_zero(x, 32);
  s = i32x4.add(s, i32x4.dot_i16x8_s(q0, v128.shuffle<i32>(lo, lo, 0, 0, 0, 0)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(q1, v128.shuffle<i32>(lo, lo, 1, 1, 1, 1)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(q2, v128.shuffle<i32>(hi, hi, 0, 0, 0, 0)));
  return i32x4.add(s, i32x4.dot_i16x8_s(q3, v128.shuffle<i32>(hi, hi, 1, 1, 1, 1)));
}

/** Y[t][r] for nTok tokens, 4 tokens per weight pass (each chunk unpacked once for 4 tokens).
 *  Token strides: xq nb*64 bytes, xd and xs nb*4, y rows*4. Tail tokens use matvec_q4_0, whose
 *  per-row summation order is the same, so results do not depend on the token count split. */
export function matmul_q4_0(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  const xqs = <usize>nb << 6;
  const xds = <usize>nb << 2;
  const ys = <usize>rows << 2;
  const m = kcNib16();
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
        let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
        const x1 = x0 + xqs, x2 = x1 + xqs, x3 = x2 + xqs;
        for (let k: usize = 0; k < 64; k += 16) {
          // per token, the chunk's 2 low and 2 high column pairs come from one vector load each
          // and are broadcast by shuffles (16 broadcast loads get hoisted and spilled by V8)
          const v = v128.load(p + k, 8);
          const xo = k >> 1;
          const q0 = v128.and(v, m);
          const q1 = v128.and(i16x8.shr_u(v, 8), m);
          const q2 = v128.and(i16x8.shr_u(v, 4), m);
          const q3 = i16x8.shr_u(v, 12);
          s0 = tok4(q0, q1, q2, q3, x0 + xo, s0);
          s1 = tok4(q0, q1, q2, q3, x1 + xo, s1);
          s2 = tok4(q0, q1, q2, q3, x2 + xo, s2);
          s3 = tok4(q0, q1, q2, q3, x3 + xo, s3);
        }
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
        x0 += 64;
        pd += 4;
        ps += 4;
      }
      storeTok4(y + <usize>t * ys, ys, g, rows, a0, a1, a2, a3);
    }
    for (; t < nTok; t++) {
      matvec_q4_0(w, xq + <usize>t * xqs, xd + <usize>t * xds, xs + <usize>t * xds, y + <usize>t * ys, rows, nb, g, g + 1);
    }
  }
}
