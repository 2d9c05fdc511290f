// MXFP4 weights (gpt-oss experts): 32-column blocks of 4-bit E2M1 codes with one E8M0 exponent
// byte. The codes index ggml's kvalues_mxfp4 (the E2M1 values doubled: 0, ±1, ±2, ±3, ±4, ±6, ±8,
// ±12), decoded in registers by one swizzle per 16 bytes as IQ4_NL's table is (iq4.ts: same
// activations, |q| and sign masks from quantize_q8_0_abs, same integer block dot). The block
// scale is 2^(e-128) built from bits as ggml_e8m0_to_fp32_half does (e < 2: the subnormals
// 2^-128, 2^-127), so each block adds convert(sumi) * (d_w * d_x) exactly as
// ggml_vec_dot_mxfp4_q8_0 does (d = d_x * e8m0_half(e); the product of a float and a power of two
// is exact either way round). Layout (repack.ts), per 4-row group and 32 columns, 68 B:
//   e[4] (row ri at byte ri) | 4 chunks of 16 B, chunk m holding file byte qs[4m + c] of row ri
//   at byte 4*ri + c (low nibble column 4m+c, high 16+4m+c: the Q4_0 int8-dot chunk order).
// matmul rows equal matvec's bit for bit (same per-block float step), whatever the thread split.
import { u8x4, storeRows, kcNib, blockMadd, storeTok4 } from "./common";
import { look, nlBlock, tok } from "./iq4";

/** kvalues_mxfp4 as a swizzle table. */
// @ts-ignore: decorator
@inline function table(): v128 {
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

export function matvec_mxfp4(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, g0: i32, g1: i32): void {
  const kv = table();
  const m4 = kcNib();
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * <usize>nb * 68;
    let acc = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      const si = nlBlock(p + 4, xq + (<usize>b << 6), 32, kv, m4);
      acc = blockMadd(acc, si, e8m0Half4(p), v128.load32_splat(xd + (<usize>b << 2)));
      p += 68;
    }
    storeRows(y, g, rows, acc);
  }
}

/** 4 tokens per pass (each chunk decoded once for 4 tokens). Token strides: xq nb*64, xd nb*4. */
export function matmul_mxfp4(w: usize, xq: usize, xd: usize, y: usize, rows: i32, nb: i32, nTok: i32, g0: i32, g1: i32): void {
  const kv = table();
  const m4 = kcNib();
  const xqs = <usize>nb << 6;
  const xds = <usize>nb << 2;
  const ys = <usize>rows << 2;
  for (let g = g0; g < g1; g++) {
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = w + <usize>g * <usize>nb * 68;
      let x0 = xq + <usize>t * xqs;
      let pd = xd + <usize>t * xds;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
        for (let m: usize = 0; m < 4; m++) {
          const v = v128.load(p + (m << 4), 4);
          const lo = look(kv, v128.and(v, m4));
          const hi = look(kv, v128.and(i16x8.shr_u(v, 4), m4));
          const xo = x0 + (m << 2);
          s0 = i32x4.add(s0, tok(lo, hi, xo));
          s1 = i32x4.add(s1, tok(lo, hi, xo + xqs));
          s2 = i32x4.add(s2, tok(lo, hi, xo + 2 * xqs));
          s3 = i32x4.add(s3, tok(lo, hi, xo + 3 * xqs));
        }
        const dw = e8m0Half4(p);
        a0 = blockMadd(a0, s0, dw, v128.load32_splat(pd));
        a1 = blockMadd(a1, s1, dw, v128.load32_splat(pd + xds));
        a2 = blockMadd(a2, s2, dw, v128.load32_splat(pd + 2 * xds));
        a3 = blockMadd(a3, s3, dw, v128.load32_splat(pd + 3 * xds));
        p += 68;
        x0 += 64;
        pd += 4;
      }
      storeTok4(y + <usize>t * ys, ys, g, rows, a0, a1, a2, a3);
    }
    for (; t < nTok; t++)
      matvec_mxfp4(w, xq + <usize>t * xqs, xd + <usize>t * xds, y + <usize>t * ys, rows, nb, g, g + 1);
  }
}
