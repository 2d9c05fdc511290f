// Activation quantization, done once per product (all threads then read it). Each function
// quantizes tokens t0..t1-1 of x (token = one row of nb blocks), so the pool can split tokens.
// Output format "Q8 widened": int8 values stored as i16 (so the dot kernels can splat column
// pairs with one 32-bit load and use i32x4.dot_i16x8_s), plus per-block scales and sums.
import { f32ToF16, f16ToF32, KC, truncI32 } from "./common";
import { rms_norm } from "./ops";

/**
 * x: f32[nTok][nb*32] -> Q8_0 as ggml quantize_row_q8_0_ref:
 *   xq: i16[nTok][nb*32], xd: f32[nTok][nb] (fp16-rounded d, as stored in block_q8_0),
 *   xs: i32[nTok][nb] (sum of the block's quants, for offset formats such as Q4_0).
 */
export function quantize_q8_0(x: usize, nb: i32, xq: usize, xd: usize, xs: usize, t0: i32, t1: i32): void {
  q8Blocks(x, nb, xq, xd, xs, t0, t1, Q8_I16, false);
}

/**
 * x: f32[nTok][nsb*256] -> Q8_K as ggml quantize_row_q8_K_ref:
 *   xq: i16[nTok][nsb*256], xd: f32[nTok][nsb], xs: i32[nTok][nsb*16] (sums per 16 quants).
 */
export function quantize_q8_k(x: usize, nsb: i32, xq: usize, xd: usize, xs: usize, t0: i32, t1: i32): void {
  q8kBlocks(x, nsb, xq, xd, xs, t0, t1, Q8_I16);
}

/**
 * x -> Q8_1 as ggml quantize_row_q8_1_ref: quants and d as quantize_q8_0, but xs holds the f32
 * value of the block's fp16 field s = d*sum(q) (d before fp16 rounding), used by Q4_1/Q5_1.
 */
export function quantize_q8_1(x: usize, nb: i32, xq: usize, xd: usize, xs: usize, t0: i32, t1: i32): void {
  q8Blocks(x, nb, xq, xd, xs, t0, t1, Q8_I16, true);
}

/** out[i] = x[i] rounded to fp16 and back (ggml converts the activation of an F16 product).
 *  Four lanes at a time, the same values as f16ToF32(f32ToF16(x)) (the scalar tail):
 *   |x| >= 2^-14 (fp16 normal): round the 13 dropped mantissa bits to nearest even on the bits
 *     (a carry into the exponent is correct); 2^16 or more after rounding is inf;
 *   |x| <  2^-14 (fp16 subnormal or zero): (|x| + 0.5) - 0.5 in f32 rounds to a multiple of
 *     2^-24 (the ulp of [0.5, 1)) to nearest even, as the scalar shift does;
 *   NaN: the quiet NaN 0x7fc00000 with x's sign (f32ToF16 keeps only the quiet bit). */
export function round_f16(x: usize, n: i32, out: usize): void {
  const absMask = i32x4.splat(0x7fffffff);
  const one = i32x4.splat(1);
  const bias = i32x4.splat(0xfff);
  const keep = i32x4.splat(<i32>0xffffe000);
  const big = i32x4.splat(0x47800000);
  const inf = i32x4.splat(0x7f800000);
  const qnan = i32x4.splat(0x7fc00000);
  const minNormal = i32x4.splat(0x38800000);
  const half = f32x4.splat(0.5);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const u = v128.load(x + o);
    const a = v128.and(u, absMask);
    let r = v128.and(i32x4.add(i32x4.add(a, bias), v128.and(i32x4.shr_u(a, 13), one)), keep);
    r = v128.bitselect(inf, r, i32x4.ge_s(r, big));
    r = v128.bitselect(f32x4.sub(f32x4.add(a, half), half), r, i32x4.lt_s(a, minNormal));
    r = v128.bitselect(qnan, r, i32x4.gt_s(a, inf));
    v128.store(out + o, v128.or(r, v128.andnot(u, absMask)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f16ToF32(f32ToF16(load<f32>(x + o))));
  }
}

/** out[i] = x[i] rounded to bf16 and back (nearest even; NaN kept quiet), as ggml_fp32_to_bf16. */
export function round_bf16(x: usize, n: i32, out: usize): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const u = load<u32>(x + o);
    let h: u32;
    if ((u & 0x7fffffff) > 0x7f800000) h = (u >> 16) | 64;
    else h = (u + 0x7fff + ((u >> 16) & 1)) >> 16;
    store<u32>(out + o, h << 16);
  }
}

/** quantize_q8_0's quants as int8 for the int8-dot kernels (dot8.ts): xq i8[nTok][nb*32]
 *  (Q4_0 weights); xd and xs as quantize_q8_0. */
export function quantize_q8_0_i8(x: usize, nb: i32, xq: usize, xd: usize, xs: usize, t0: i32, t1: i32): void {
  q8Blocks(x, nb, xq, xd, xs, t0, t1, Q8_I8, false);
}

/** quantize_q8_0 for Q8_0 weights on the int8-dot kernels: per block 64 bytes, |q| (0..127, the
 *  7-bit operand) then the sign mask (0 or -1 per quant, applied to the weights); xd as
 *  quantize_q8_0, xs as there (unused by Q8_0). */
export function quantize_q8_0_abs(x: usize, nb: i32, xq: usize, xd: usize, xs: usize, t0: i32, t1: i32): void {
  q8Blocks(x, nb, xq, xd, xs, t0, t1, Q8_ABS, false);
}

/** C roundf of 4 lanes: halfway cases away from zero (ggml quantize_row_q8_0_ref). */
// @ts-ignore: decorator
@inline function roundAway4(v: v128): v128 {
  // constants from the page-0 table (common.ts KC: 0.5 at 288, 1.0 at 304, sign bits at 336)
  const t = f32x4.trunc(v);
  const up = f32x4.ge(f32x4.abs(f32x4.sub(v, t)), v128.load(KC, 288));
  const one = v128.or(v128.and(v, v128.load(KC, 336)), v128.load(KC, 304));
  return f32x4.add(t, v128.and(up, one));
}

/** fp16 rounding of a positive block scale (ggml stores d as fp16): for normal fp16 magnitudes
 *  the f32 mantissa rounded to 10 bits, nearest even (bit-identical to f32ToF16 + f16ToF32
 *  there); subnormal, huge and zero scales take the scalar conversion. */
// @ts-ignore: decorator
@inline function f16Round(d: f32): f32 {
  if (d >= <f32>6.103515625e-5 && d < <f32>65504) {
    const u = reinterpret<u32>(d);
    return reinterpret<f32>((u + 0xfff + ((u >> 13) & 1)) & 0xffffe000);
  }
  return f16ToF32(f32ToF16(d));
}

// output layouts of q8Blocks
const Q8_I8: i32 = 0; // int8 quants, 32 B per block
const Q8_ABS: i32 = 1; // |q| then the sign mask (0 / -1), 64 B per block
const Q8_I16: i32 = 2; // int8 values widened to i16, 64 B per block ("Q8 widened")

/** The Q8_0 / Q8_1 activation quantizers in SIMD (values as ggml quantize_row_q8_0_ref lane by
 *  lane: max of |x|, d = amax/127, q = roundf(x * (1/d)), d stored as fp16; Q8_1's s =
 *  fp16(d * sum q)). The scalar loops they replaced cost ~5 ns per value (i16 output), a fifth
 *  of the default model's prefill. */
// @ts-ignore: decorator
@inline function q8Blocks(x: usize, nb: i32, xq: usize, xd: usize, xs: usize, t0: i32, t1: i32, out: i32, q81: bool): void {
  for (let b = nb * t0; b < nb * t1; b++) {
    const px = x + (<usize>b << 7);
    let am = f32x4.splat(0);
    // pmax (one maxps; a NaN input is skipped, as ggml's fmaxf does) rather than max, whose
    // NaN-propagating lowering costs 8 instructions in V8
    for (let i: usize = 0; i < 128; i += 16) am = f32x4.pmax(am, f32x4.abs(v128.load(px + i)));
    am = f32x4.pmax(am, v128.shuffle<f32>(am, am, 2, 3, 0, 1));
    const amax: f32 = f32x4.extract_lane(f32x4.pmax(am, v128.shuffle<f32>(am, am, 1, 0, 3, 2)), 0);
    const d: f32 = amax / 127;
    const id = f32x4.splat(d != 0 ? <f32>1 / d : 0);
    let sv = i32x4.splat(0);
    const pq = out == Q8_I8 ? xq + (<usize>b << 5) : xq + (<usize>b << 6);
    for (let h: usize = 0; h < 2; h++) {
      const o = px + (h << 6);
      const q0 = truncI32(roundAway4(f32x4.mul(v128.load(o), id)));
      const q1 = truncI32(roundAway4(f32x4.mul(v128.load(o, 16), id)));
      const q2 = truncI32(roundAway4(f32x4.mul(v128.load(o, 32), id)));
      const q3 = truncI32(roundAway4(f32x4.mul(v128.load(o, 48), id)));
      sv = i32x4.add(sv, i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)));
      const w0 = i16x8.narrow_i32x4_s(q0, q1), w1 = i16x8.narrow_i32x4_s(q2, q3);
      if (out == Q8_I16) {
        v128.store(pq + (h << 5), w0);
        v128.store(pq + (h << 5), w1, 16);
      } else {
        const q8 = i8x16.narrow_i16x8_s(w0, w1);
        if (out == Q8_ABS) {
          v128.store(pq + (h << 4), i8x16.abs(q8));
          v128.store(pq + (h << 4), i8x16.lt_s(q8, i8x16.splat(0)), 32);
        } else v128.store(pq + (h << 4), q8);
      }
    }
    const sum = i32x4.extract_lane(sv, 0) + i32x4.extract_lane(sv, 1) + i32x4.extract_lane(sv, 2) + i32x4.extract_lane(sv, 3);
    store<f32>(xd + (<usize>b << 2), f16Round(d));
    if (q81) store<f32>(xs + (<usize>b << 2), f16ToF32(f32ToF16(<f32>sum * d)));
    else store<i32>(xs + (<usize>b << 2), sum);
  }
}

/** quantize_q8_k with int8 quants (xq i8[nTok][nsb*256]) for the int8-dot K-quant kernels. */
export function quantize_q8_k_i8(x: usize, nsb: i32, xq: usize, xd: usize, xs: usize, t0: i32, t1: i32): void {
  q8kBlocks(x, nsb, xq, xd, xs, t0, t1, Q8_I8);
}

/** quantize_q8_k for IQ4_XS weights on the int8-dot kernels (iq4.ts): per super-block 512
 *  bytes, |q| (0..127) then the sign mask (0 or -1 per quant); xd and xs as quantize_q8_k. */
export function quantize_q8_k_abs(x: usize, nsb: i32, xq: usize, xd: usize, xs: usize, t0: i32, t1: i32): void {
  q8kBlocks(x, nsb, xq, xd, xs, t0, t1, Q8_ABS);
}

/** Q8_K in SIMD, values as ggml quantize_row_q8_K_ref: vmax = the first value of largest
 *  magnitude, iscale = -127/vmax, q = min(127, nearest(iscale*x)) (round half to even, as
 *  ggml's nearest_int), d = 1/iscale, sums per 16 quants. Output layouts as q8Blocks (256 B
 *  int8, 512 B |q| + sign mask, or 512 B widened i16 per super-block). */
// @ts-ignore: decorator
@inline function q8kBlocks(x: usize, nsb: i32, xq: usize, xd: usize, xs: usize, t0: i32, t1: i32, out: i32): void {
  for (let b = nsb * t0; b < nsb * t1; b++) {
    const px = x + (<usize>b << 10);
    let am = f32x4.splat(0);
    for (let i: usize = 0; i < 1024; i += 16) am = f32x4.pmax(am, f32x4.abs(v128.load(px + i)));
    am = f32x4.pmax(am, v128.shuffle<f32>(am, am, 2, 3, 0, 1));
    const amax: f32 = f32x4.extract_lane(f32x4.pmax(am, v128.shuffle<f32>(am, am, 1, 0, 3, 2)), 0);
    const pq = out == Q8_I8 ? xq + (<usize>b << 8) : xq + (<usize>b << 9);
    const ps = xs + (<usize>b << 6);
    if (amax == 0) {
      store<f32>(xd + (<usize>b << 2), 0);
      memory.fill(pq, 0, out == Q8_I8 ? 256 : 512);
      memory.fill(ps, 0, 64);
      continue;
    }
    // the first value whose magnitude is amax (ggml keeps the first on ties)
    let vmax: f32 = amax;
    const av = f32x4.splat(amax);
    for (let i: usize = 0; i < 1024; i += 16) {
      const v = v128.load(px + i);
      const hit = i32x4.bitmask(f32x4.eq(f32x4.abs(v), av));
      if (hit != 0) {
        const l = ctz<i32>(hit);
        vmax = load<f32>(px + i + (<usize>l << 2));
        break;
      }
    }
    const iscale: f32 = <f32>-127 / vmax;
    const is = f32x4.splat(iscale);
    const q127 = i32x4.splat(127);
    for (let j: usize = 0; j < 16; j++) {
      const o = px + (j << 6);
      const q0 = i32x4.min_s(truncI32(f32x4.nearest(f32x4.mul(is, v128.load(o)))), q127);
      const q1 = i32x4.min_s(truncI32(f32x4.nearest(f32x4.mul(is, v128.load(o, 16)))), q127);
      const q2 = i32x4.min_s(truncI32(f32x4.nearest(f32x4.mul(is, v128.load(o, 32)))), q127);
      const q3 = i32x4.min_s(truncI32(f32x4.nearest(f32x4.mul(is, v128.load(o, 48)))), q127);
      const sv = i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3));
      store<i32>(ps + (j << 2), i32x4.extract_lane(sv, 0) + i32x4.extract_lane(sv, 1) + i32x4.extract_lane(sv, 2) + i32x4.extract_lane(sv, 3));
      const w0 = i16x8.narrow_i32x4_s(q0, q1), w1 = i16x8.narrow_i32x4_s(q2, q3);
      if (out == Q8_I16) {
        v128.store(pq + (j << 5), w0);
        v128.store(pq + (j << 5), w1, 16);
      } else {
        const q8 = i8x16.narrow_i16x8_s(w0, w1);
        if (out == Q8_ABS) {
          v128.store(pq + (j << 4), i8x16.abs(q8));
          v128.store(pq + (j << 4), i8x16.lt_s(q8, i8x16.splat(0)), 256);
        } else v128.store(pq + (j << 4), q8);
      }
    }
    store<f32>(xd + (<usize>b << 2), <f32>1 / iscale);
  }
}

/**
 * RMSNorm fused with the activation quantization of a product (one dispatch, one barrier):
 * for rows u0..u1-1, out[r] = rms_norm(x[r]) * w exactly as ops.ts rms_norm, then row r of out
 * quantized by quantizer `kind` (0 q8_0, 1 q8_1, 2 q8_k, 3 q8_0_i8, 4 q8_0_abs, 5 q8_k_i8,
 * 6 q8_k_abs, 7 q8_1_i8; nb =
 * its blocks per row) while the row is still in L1. Same bits as the two ops run apart.
 */
export function rms_norm_quant(x: usize, w: usize, out: usize, n: i32, eps: f32, kind: i32, nb: i32, xq: usize, xd: usize, xs: usize, u0: i32, u1: i32): void {
  for (let r = u0; r < u1; r++) {
    rms_norm(x, w, out, n, eps, r, r + 1);
    if (kind == 0) quantize_q8_0(out, nb, xq, xd, xs, r, r + 1);
    else if (kind == 1) quantize_q8_1(out, nb, xq, xd, xs, r, r + 1);
    else if (kind == 2) quantize_q8_k(out, nb, xq, xd, xs, r, r + 1);
    else if (kind == 3) quantize_q8_0_i8(out, nb, xq, xd, xs, r, r + 1);
    else if (kind == 4) quantize_q8_0_abs(out, nb, xq, xd, xs, r, r + 1);
    else if (kind == 5) quantize_q8_k_i8(out, nb, xq, xd, xs, r, r + 1);
    else if (kind == 6) quantize_q8_k_abs(out, nb, xq, xd, xs, r, r + 1);
    else quantize_q8_1_i8(out, nb, xq, xd, xs, r, r + 1);
  }
}

/** quantize_q8_1 with int8 quants (xq i8[nTok][nb*32]) for the int8-dot Q4_1/Q5_1 kernels; xd
 *  and xs (f32 fp16(d*sum)) as quantize_q8_1. */
export function quantize_q8_1_i8(x: usize, nb: i32, xq: usize, xd: usize, xs: usize, t0: i32, t1: i32): void {
  q8Blocks(x, nb, xq, xd, xs, t0, t1, Q8_I8, true);
}
