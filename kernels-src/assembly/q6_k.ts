// Q6_K weights, repacked at load time to 8 bits per quant (see src/kernels/wasm/repack.ts): the
// 6-bit quants are widened to int8 (q - 32, -32..31) so the kernel does no bit unpacking at all
// (Q6_K was compute-bound at about half of Q4_K's GFLOP/s with 6-bit unpacking in SIMD128).
// Costs 1096 bytes per 4 rows x 256 columns instead of 840 (+30% for Q6_K tensors only; in a
// Q4_K_M file those are the output and some attn_v/ffn_down matrices).
// Per group and 256-column super-block, 1096 bytes:
//   [0,8) d[4] fp16 | [8,72) scale[j][row] i8 (j = 16-column sub-block)
//   [72,1096) 64 chunks of 16 B: chunk k holds columns 4k..4k+3 of the 4 rows as int8 pairs
//             [r0c0 r0c1 r1c0 r1c1 ... | r0c2 r0c3 ...] exactly as q8_0.ts.
// Row result per super-block: d*dx*sum_j sc_j*dot_j (ggml order: integer sum, then one scale).
import { f16Mask, f16Scale, f16x4, i8x4, storeRows, blockMadd, storeTok4 } from "./common";

/** Dot of chunk k at q with the widened activation at x (columns 4k..4k+3). */
// @ts-ignore: decorator
@inline function chunk(q: usize, x: usize, s: v128): v128 {
  const v = v128.load(q);
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), v128.load32_splat(x)));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), v128.load32_splat(x, 4)));
}

/** Integer part of one super-block (weights at p) for one token (activation at xb). */
// @ts-ignore: decorator
@inline function sbDot(p: usize, xb: usize): v128 {
  let sumi = i32x4.splat(0);
  for (let j: usize = 0; j < 16; j++) {
    const q = p + 72 + (j << 6);
    const x = xb + (j << 5);
    let s0 = chunk(q, x, i32x4.splat(0));
    let s1 = chunk(q + 16, x + 8, i32x4.splat(0));
    s0 = chunk(q + 32, x + 16, s0);
    s1 = chunk(q + 48, x + 24, s1);
    sumi = i32x4.add(sumi, i32x4.mul(i32x4.add(s0, s1), i8x4(p + 8 + (j << 2))));
  }
  return sumi;
}

export function matvec_q6_k(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, g0: i32, g1: i32): void {
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * <usize>nsb * 1096;
    let acc = f32x4.splat(0);
    for (let b = 0; b < nsb; b++) {
      const sumi = sbDot(p, xq + (<usize>b << 9));
      const dx = v128.load32_splat(xd + (<usize>b << 2));
      acc = blockMadd(acc, sumi, f16x4(p, fm, fs), dx);
      p += 1096;
    }
    storeRows(y, g, rows, acc);
  }
}

/** Y[t][r] for nTok tokens: 4 tokens per pass over a group's weights (each weight chunk is
 *  loaded and widened once for 4 tokens); tail tokens use matvec_q6_k, which sums in the same
 *  order, so results do not depend on how tokens or groups are split. Token strides: xq nsb*512
 *  bytes, xd nsb*4, y rows*4. */
export function matmul_q6_k(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, nTok: i32, g0: i32, g1: i32): void {
  const fm = f16Mask(rows), fs = f16Scale(rows);
  const xqs = <usize>nsb << 9;
  const xds = <usize>nsb << 2;
  const ys = <usize>rows << 2;
  for (let g = g0; g < g1; g++) {
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = w + <usize>g * <usize>nsb * 1096;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < nsb; b++) {
        let u0 = i32x4.splat(0), u1 = i32x4.splat(0), u2 = i32x4.splat(0), u3 = i32x4.splat(0);
        for (let j: usize = 0; j < 16; j++) {
          const q = p + 72 + (j << 6);
          const x = x0 + (j << 5);
          let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
          for (let k: usize = 0; k < 64; k += 16) {
            const v = v128.load(q + k);
            const xo = x + (k >> 1);
            let h = i16x8.extend_low_i8x16_s(v);
            s0 = i32x4.add(s0, i32x4.dot_i16x8_s(h, v128.load32_splat(xo)));
            s1 = i32x4.add(s1, i32x4.dot_i16x8_s(h, v128.load32_splat(xo + xqs)));
            s2 = i32x4.add(s2, i32x4.dot_i16x8_s(h, v128.load32_splat(xo + 2 * xqs)));
            s3 = i32x4.add(s3, i32x4.dot_i16x8_s(h, v128.load32_splat(xo + 3 * xqs)));
            h = i16x8.extend_high_i8x16_s(v);
            s0 = i32x4.add(s0, i32x4.dot_i16x8_s(h, v128.load32_splat(xo, 4)));
            s1 = i32x4.add(s1, i32x4.dot_i16x8_s(h, v128.load32_splat(xo + xqs, 4)));
            s2 = i32x4.add(s2, i32x4.dot_i16x8_s(h, v128.load32_splat(xo + 2 * xqs, 4)));
            s3 = i32x4.add(s3, i32x4.dot_i16x8_s(h, v128.load32_splat(xo + 3 * xqs, 4)));
          }
          const sc = i8x4(p + 8 + (j << 2));
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
        p += 1096;
        x0 += 512;
        pd += 4;
      }
      storeTok4(y + <usize>t * ys, ys, g, rows, a0, a1, a2, a3);
    }
    for (; t < nTok; t++) {
      const tt = <usize>t * <usize>nsb;
      matvec_q6_k(w, xq + (tt << 9), xd + (tt << 2), xs + (tt << 6), y + <usize>t * ys, rows, nsb, g, g + 1);
    }
  }
}
