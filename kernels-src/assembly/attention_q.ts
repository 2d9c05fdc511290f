// Causal GQA attention over a paged KV cache whose K and/or V rows are llama.cpp blocks (KV issue):
// Q8_0 (34 B per 32 values: f16 d + 32 i8) or Q4_0 (18 B per 32: f16 d + 16 B nibbles, byte j
// = element j low, element j+16 high, value d * (q - 8)); F32 / F16 rows also accepted so K and V
// types mix freely. Formats: 0 f32, 1 f16, 2 q8_0, 3 q4_0.
//
// Order of ggml's CPU flash attention (ggml_compute_forward_flash_attn_ext_f16), which is what
// llama.cpp runs with a quantized V cache:
//  - q of each head is quantized once to Q8_0 (x86 AVX quantizer: id = 127/amax, round half to
//    even; d stored as f16) when K is quantized, and K.q is the integer block dot scaled by
//    dK * dQ per block;
//  - online softmax per position (running max M, sum S; accumulator rescaled when M grows);
//  - V rows are dequantized to f32 and accumulated with weight exp(s - M).
// Work units as in attention_paged: u = ti * nHeadKV + kh (token, KV head). Scratch `qq`: per
// (token, head) hd/32 blocks of 48 bytes (32 i8 quants, f32 d at +32); `ml` as attention_paged.
// Positions go in chunks of up to 4 inside a block's run of rows (as attention_paged): 4 scores,
// the online-softmax update per position in order (scalar), then ONE pass over the accumulator
// applying the 4 updates acc = acc * c_j + p_j * V_j in position order, so the result is
// bit-identical to one position at a time while the accumulator is loaded and stored once per
// chunk and V's i8 quants are widened 16 at a time.
import { f16Mask, f16Scale, f16x4, f16ToF32, f32ToF16 } from "./common";
import { exp4 } from "./ops";

// @ts-ignore: decorator
@inline function rowBytes(fmt: i32, w: i32): usize {
  if (fmt == 0) return <usize>w << 2;
  if (fmt == 1) return <usize>w << 1;
  if (fmt == 2) return <usize>(w >> 5) * 34;
  return <usize>(w >> 5) * 18;
}

/** Round half to even (as _mm256_round_ps with _MM_FROUND_TO_NEAREST_INT). */
// @ts-ignore: decorator
@inline function nearestEven(v: f32): f32 {
  return nearest<f32>(v);
}

/** q head (hd f32) -> hd/32 blocks of 48 B at dst: i8[32], f32 d at +32. */
function quantizeHead(q: usize, hd: i32, dst: usize): void {
  for (let b = 0; b < hd >> 5; b++) {
    const px = q + (<usize>b << 7);
    let amax: f32 = 0;
    for (let i = 0; i < 32; i++) amax = max<f32>(amax, abs<f32>(load<f32>(px + (<usize>i << 2))));
    const id: f32 = amax != 0 ? <f32>127 / amax : 0;
    const pd = dst + <usize>b * 48;
    for (let i = 0; i < 32; i++) store<i8>(pd + i, <i8>(<i32>nearestEven(load<f32>(px + (<usize>i << 2)) * id)));
    store<f32>(pd, f16ToF32(f32ToF16(amax / 127)), 32);
  }
}

/** Sum of 16 i8 x i8 products as i32x4 lanes. */
// @ts-ignore: decorator
@inline function dot16(a: v128, b: v128): v128 {
  return i32x4.add(
    i32x4.extadd_pairwise_i16x8_s(i16x8.extmul_low_i8x16_s(a, b)),
    i32x4.extadd_pairwise_i16x8_s(i16x8.extmul_high_i8x16_s(a, b)),
  );
}

// @ts-ignore: decorator
@inline function isum(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** K head (format fmt at pk) . q head: quantized K against the Q8_0 q blocks at qq, else f32 q at pq. */
function dotK(fmt: i32, pk: usize, pq: usize, qq: usize, hd: i32, fm: v128, fs: v128): f32 {
  let s: f32 = 0;
  if (fmt == 2) {
    for (let b = 0; b < hd >> 5; b++) {
      const kb = pk + <usize>b * 34;
      const qb = qq + <usize>b * 48;
      const acc = i32x4.add(dot16(v128.load(kb + 2), v128.load(qb)), dot16(v128.load(kb + 18), v128.load(qb + 16)));
      s += <f32>isum(acc) * (f16ToF32(<i32>load<u16>(kb)) * load<f32>(qb, 32));
    }
    return s;
  }
  if (fmt == 3) {
    const lo = i8x16.splat(0x0f);
    const eight = i8x16.splat(8);
    for (let b = 0; b < hd >> 5; b++) {
      const kb = pk + <usize>b * 18;
      const qb = qq + <usize>b * 48;
      const x = v128.load(kb + 2);
      const x0 = i8x16.sub(v128.and(x, lo), eight);
      const x1 = i8x16.sub(i8x16.shr_u(x, 4), eight);
      const acc = i32x4.add(dot16(x0, v128.load(qb)), dot16(x1, v128.load(qb + 16)));
      s += <f32>isum(acc) * (f16ToF32(<i32>load<u16>(kb)) * load<f32>(qb, 32));
    }
    return s;
  }
  let a = f32x4.splat(0);
  if (fmt == 1) {
    for (let i = 0; i < hd; i += 4) a = f32x4.add(a, f32x4.mul(v128.load(pq + (<usize>i << 2)), f16x4(pk + (<usize>i << 1), fm, fs)));
  } else {
    for (let i = 0; i < hd; i += 4) a = f32x4.add(a, f32x4.mul(v128.load(pq + (<usize>i << 2)), v128.load(pk + (<usize>i << 2))));
  }
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
}

/** [sum(a), sum(b), sum(c), sum(d)] of four i32x4 (integer sums: any order is exact). */
// @ts-ignore: decorator
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i8x16.shuffle(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23), i8x16.shuffle(a, b, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31));
  const cd = i32x4.add(i8x16.shuffle(c, d, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23), i8x16.shuffle(c, d, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31));
  // ab = [a0+a2, b0+b2, a1+a3, b1+b3], cd likewise.
  return i32x4.add(i8x16.shuffle(ab, cd, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23), i8x16.shuffle(ab, cd, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
}

/** The f16 block scales at p0..p3 as f32x4 (f16x4's exact conversion, as f16ToF32 for finite values). */
// @ts-ignore: decorator
@inline function d4(p0: usize, p1: usize, p2: usize, p3: usize, fm: v128, fs: v128): v128 {
  let h = i16x8.splat(<i16>load<u16>(p0));
  h = i16x8.replace_lane(h, 1, <i16>load<u16>(p1));
  h = i16x8.replace_lane(h, 2, <i16>load<u16>(p2));
  h = i16x8.replace_lane(h, 3, <i16>load<u16>(p3));
  return f32x4.mul(v128.and(i32x4.shl(i32x4.extend_low_i16x8_s(h), 13), fm), fs);
}

/**
 * Scores of 4 rows (K heads at pk + r * kRow, quantized K) against the Q8_0 q blocks at qq, as
 * f32x4 [s0..s3]: per lane exactly dotK's sum over blocks of isum * (dK * dQ), in block order.
 */
function dotK4(fmt: i32, pk: usize, kRow: usize, qq: usize, hd: i32, fm: v128, fs: v128): v128 {
  let s = f32x4.splat(0);
  const bb: usize = fmt == 2 ? 34 : 18;
  for (let b = 0; b < hd >> 5; b++) {
    const qb = qq + <usize>b * 48;
    // q's 32 quants widened to i16 once for the 4 rows; each row is then 4 i16 pair-dots
    // (i32x4.dot_i16x8_s): exact integer sums, as dot16.
    const q0 = v128.load(qb), q1 = v128.load(qb + 16);
    const qa = i16x8.extend_low_i8x16_s(q0), qb2 = i16x8.extend_high_i8x16_s(q0);
    const qc = i16x8.extend_low_i8x16_s(q1), qd = i16x8.extend_high_i8x16_s(q1);
    const k0 = pk + <usize>b * bb, k1 = k0 + kRow, k2 = k1 + kRow, k3 = k2 + kRow;
    let a0: v128, a1: v128, a2: v128, a3: v128;
    if (fmt == 2) {
      a0 = rowDot(v128.load(k0 + 2), v128.load(k0 + 18), qa, qb2, qc, qd);
      a1 = rowDot(v128.load(k1 + 2), v128.load(k1 + 18), qa, qb2, qc, qd);
      a2 = rowDot(v128.load(k2 + 2), v128.load(k2 + 18), qa, qb2, qc, qd);
      a3 = rowDot(v128.load(k3 + 2), v128.load(k3 + 18), qa, qb2, qc, qd);
    } else {
      const x0 = v128.load(k0 + 2), x1 = v128.load(k1 + 2), x2 = v128.load(k2 + 2), x3 = v128.load(k3 + 2);
      a0 = rowDot(nib(x0, 0), nib(x0, 1), qa, qb2, qc, qd);
      a1 = rowDot(nib(x1, 0), nib(x1, 1), qa, qb2, qc, qd);
      a2 = rowDot(nib(x2, 0), nib(x2, 1), qa, qb2, qc, qd);
      a3 = rowDot(nib(x3, 0), nib(x3, 1), qa, qb2, qc, qd);
    }
    const dk = f32x4.mul(d4(k0, k1, k2, k3, fm, fs), v128.load32_splat(qb + 32));
    s = f32x4.add(s, f32x4.mul(f32x4.convert_i32x4_s(hsum4(a0, a1, a2, a3)), dk));
  }
  return s;
}

/** 32 i8 (x0: elements 0..15, x1: 16..31) . q widened to i16 (qa..qd) as i32x4 partial sums. */
// @ts-ignore: decorator
@inline function rowDot(x0: v128, x1: v128, qa: v128, qb: v128, qc: v128, qd: v128): v128 {
  const s0 = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(x0), qa), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(x0), qb));
  const s1 = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(x1), qc), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(x1), qd));
  return i32x4.add(s0, s1);
}

/** One position's update of 4 accumulator floats: acc * c + w * x (acc * c skipped when c is 1 for all). */
// @ts-ignore: decorator
@inline function upd(acc: v128, c: v128, w: v128, x: v128, rescale: bool): v128 {
  return f32x4.add(rescale ? f32x4.mul(acc, c) : acc, f32x4.mul(w, x));
}

/**
 * acc[0..16) at po, in position order j = 0..3: acc = acc * c_j + w_j * x_j (x_j: 16 i8 as f32);
 * `rescale` false when every c_j is 1 (then acc * 1 is skipped: the same bits). Unrolled by hand:
 * each row's 16 i8 are widened once (2 i16x8, 4 i32x4).
 */
// @ts-ignore: decorator
@inline function mad16(po: usize, x0: v128, x1: v128, x2: v128, x3: v128, w0: v128, w1: v128, w2: v128, w3: v128, c0: v128, c1: v128, c2: v128, c3: v128, rescale: bool): void {
  const l0 = i16x8.extend_low_i8x16_s(x0), h0 = i16x8.extend_high_i8x16_s(x0);
  const l1 = i16x8.extend_low_i8x16_s(x1), h1 = i16x8.extend_high_i8x16_s(x1);
  const l2 = i16x8.extend_low_i8x16_s(x2), h2 = i16x8.extend_high_i8x16_s(x2);
  const l3 = i16x8.extend_low_i8x16_s(x3), h3 = i16x8.extend_high_i8x16_s(x3);
  let a = v128.load(po);
  a = upd(a, c0, w0, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(l0)), rescale);
  a = upd(a, c1, w1, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(l1)), rescale);
  a = upd(a, c2, w2, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(l2)), rescale);
  a = upd(a, c3, w3, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(l3)), rescale);
  v128.store(po, a);
  a = v128.load(po, 16);
  a = upd(a, c0, w0, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(l0)), rescale);
  a = upd(a, c1, w1, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(l1)), rescale);
  a = upd(a, c2, w2, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(l2)), rescale);
  a = upd(a, c3, w3, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(l3)), rescale);
  v128.store(po, a, 16);
  a = v128.load(po, 32);
  a = upd(a, c0, w0, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h0)), rescale);
  a = upd(a, c1, w1, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h1)), rescale);
  a = upd(a, c2, w2, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h2)), rescale);
  a = upd(a, c3, w3, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h3)), rescale);
  v128.store(po, a, 32);
  a = v128.load(po, 48);
  a = upd(a, c0, w0, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h0)), rescale);
  a = upd(a, c1, w1, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h1)), rescale);
  a = upd(a, c2, w2, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h2)), rescale);
  a = upd(a, c3, w3, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h3)), rescale);
  v128.store(po, a, 48);
}

/** Q4_0 block's 16 bytes -> elements 0..15 (half 0) or 16..31 (half 1) as i8 q - 8. */
// @ts-ignore: decorator
@inline function nib(x: v128, half: i32): v128 {
  return i8x16.sub(half == 0 ? v128.and(x, i8x16.splat(0x0f)) : i8x16.shr_u(x, 4), i8x16.splat(8));
}

/**
 * out[hd] = for j = 0..3 in order: out * c_j + p_j * V_j (V_j: the V head at pv_j, format fmt);
 * the same bits as madV per position with out scaled by c_j first.
 */
function madV4(fmt: i32, pv0: usize, pv1: usize, pv2: usize, pv3: usize, p0: f32, p1: f32, p2: f32, p3: f32, c0: f32, c1: f32, c2: f32, c3: f32, out: usize, hd: i32, fm: v128, fs: v128): void {
  const rescale = c0 != 1 || c1 != 1 || c2 != 1 || c3 != 1;
  const C0 = f32x4.splat(c0), C1 = f32x4.splat(c1), C2 = f32x4.splat(c2), C3 = f32x4.splat(c3);
  if (fmt >= 2) {
    let P = f32x4.splat(p0);
    P = f32x4.replace_lane(P, 1, p1);
    P = f32x4.replace_lane(P, 2, p2);
    P = f32x4.replace_lane(P, 3, p3);
    const bb: usize = fmt == 2 ? 34 : 18;
    for (let b = 0; b < hd >> 5; b++) {
      const o = <usize>b * bb;
      const wv = f32x4.mul(P, d4(pv0 + o, pv1 + o, pv2 + o, pv3 + o, fm, fs));
      const w0 = i32x4.splat(i32x4.extract_lane(wv, 0));
      const w1 = i32x4.splat(i32x4.extract_lane(wv, 1));
      const w2 = i32x4.splat(i32x4.extract_lane(wv, 2));
      const w3 = i32x4.splat(i32x4.extract_lane(wv, 3));
      const po = out + (<usize>b << 7);
      if (fmt == 2) {
        mad16(po, v128.load(pv0 + o + 2), v128.load(pv1 + o + 2), v128.load(pv2 + o + 2), v128.load(pv3 + o + 2), w0, w1, w2, w3, C0, C1, C2, C3, rescale);
        mad16(po + 64, v128.load(pv0 + o + 18), v128.load(pv1 + o + 18), v128.load(pv2 + o + 18), v128.load(pv3 + o + 18), w0, w1, w2, w3, C0, C1, C2, C3, rescale);
      } else {
        const x0 = v128.load(pv0 + o + 2), x1 = v128.load(pv1 + o + 2), x2 = v128.load(pv2 + o + 2), x3 = v128.load(pv3 + o + 2);
        mad16(po, nib(x0, 0), nib(x1, 0), nib(x2, 0), nib(x3, 0), w0, w1, w2, w3, C0, C1, C2, C3, rescale);
        mad16(po + 64, nib(x0, 1), nib(x1, 1), nib(x2, 1), nib(x3, 1), w0, w1, w2, w3, C0, C1, C2, C3, rescale);
      }
    }
    return;
  }
  const w0 = f32x4.splat(p0), w1 = f32x4.splat(p1), w2 = f32x4.splat(p2), w3 = f32x4.splat(p3);
  for (let i = 0; i < hd; i += 4) {
    const o = out + (<usize>i << 2);
    let v0: v128, v1: v128, v2: v128, v3: v128;
    if (fmt == 1) {
      const e = <usize>i << 1;
      v0 = f16x4(pv0 + e, fm, fs);
      v1 = f16x4(pv1 + e, fm, fs);
      v2 = f16x4(pv2 + e, fm, fs);
      v3 = f16x4(pv3 + e, fm, fs);
    } else {
      const e = <usize>i << 2;
      v0 = v128.load(pv0 + e);
      v1 = v128.load(pv1 + e);
      v2 = v128.load(pv2 + e);
      v3 = v128.load(pv3 + e);
    }
    let acc = v128.load(o);
    if (rescale) {
      acc = f32x4.add(f32x4.mul(acc, C0), f32x4.mul(w0, v0));
      acc = f32x4.add(f32x4.mul(acc, C1), f32x4.mul(w1, v1));
      acc = f32x4.add(f32x4.mul(acc, C2), f32x4.mul(w2, v2));
      acc = f32x4.add(f32x4.mul(acc, C3), f32x4.mul(w3, v3));
    } else {
      acc = f32x4.add(acc, f32x4.mul(w0, v0));
      acc = f32x4.add(acc, f32x4.mul(w1, v1));
      acc = f32x4.add(acc, f32x4.mul(w2, v2));
      acc = f32x4.add(acc, f32x4.mul(w3, v3));
    }
    v128.store(o, acc);
  }
}

export function attention_paged_q(
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  nTok: i32,
  nKV: i32,
  nHead: i32,
  nHeadKV: i32,
  hd: i32,
  pos0: i32,
  scale: f32,
  ml: usize,
  table: usize,
  blockSize: i32,
  kFmt: i32,
  vFmt: i32,
  window: i32,
  qq: usize,
  u0: i32,
  u1: i32,
): void {
  const G = nHead / nHeadKV;
  const W = nHeadKV * hd;
  const kRow = rowBytes(kFmt, W);
  const vRow = rowBytes(vFmt, W);
  const kHead = rowBytes(kFmt, hd);
  const vHead = rowBytes(vFmt, hd);
  const hdb = <usize>hd << 2;
  const qqHead = <usize>(hd >> 5) * 48;
  const fm = f16Mask(hd), fs = f16Scale(hd);
  const kq = kFmt >= 2;
  for (let u = u0; u < u1; u++) {
    const t = u / nHeadKV;
    const kh = u - t * nHeadKV;
    const last = min<i32>(nKV - 1, pos0 + t);
    const first = window > 0 ? max<i32>(0, pos0 + t - window + 1) : 0;
    const h0 = t * nHead + kh * G;
    memory.fill(out + <usize>h0 * hdb, 0, <usize>G * hdb);
    for (let g = 0; g < G; g++) {
      const pm = ml + (<usize>(h0 + g) << 3);
      store<f32>(pm, -Infinity);
      store<f32>(pm, 0, 4);
      if (kq) quantizeHead(q + <usize>(h0 + g) * hdb, hd, qq + <usize>(h0 + g) * qqHead);
    }
    let j = first;
    while (j <= last) {
      // One block's run of contiguous rows, in chunks of up to 4 positions.
      const blk = j / blockSize;
      const inBlk = j - blk * blockSize;
      const runEnd = min<i32>(last, j + (blockSize - inBlk) - 1);
      let row = <usize>load<i32>(table + (<usize>blk << 2)) * <usize>blockSize + <usize>inBlk;
      while (j <= runEnd) {
        const cnt = min<i32>(4, runEnd - j + 1);
        const pk = k + row * kRow + <usize>kh * kHead;
        const pv0 = v + row * vRow + <usize>kh * vHead;
        // Lanes past the run read row 0 of the chunk again with weight 0 and scale 1 (no effect).
        const pv1 = pv0 + (cnt > 1 ? vRow : 0);
        const pv2 = pv0 + (cnt > 2 ? 2 * vRow : 0);
        const pv3 = pv0 + (cnt > 3 ? 3 * vRow : 0);
        for (let g = 0; g < G; g++) {
          const h = h0 + g;
          const pm = ml + (<usize>h << 3);
          const pq = q + <usize>h * hdb;
          const pqq = qq + <usize>h * qqHead;
          let m = load<f32>(pm);
          let l = load<f32>(pm, 4);
          // Scores (lanes past the chunk: -inf), and the running max before each position.
          let s0: f32, s1: f32, s2: f32, s3: f32;
          if (kq && cnt == 4) {
            const sk = f32x4.mul(dotK4(kFmt, pk, kRow, pqq, hd, fm, fs), f32x4.splat(scale));
            s0 = f32x4.extract_lane(sk, 0);
            s1 = f32x4.extract_lane(sk, 1);
            s2 = f32x4.extract_lane(sk, 2);
            s3 = f32x4.extract_lane(sk, 3);
          } else {
            s0 = dotK(kFmt, pk, pq, pqq, hd, fm, fs) * scale;
            s1 = cnt > 1 ? dotK(kFmt, pk + kRow, pq, pqq, hd, fm, fs) * scale : -Infinity;
            s2 = cnt > 2 ? dotK(kFmt, pk + 2 * kRow, pq, pqq, hd, fm, fs) * scale : -Infinity;
            s3 = cnt > 3 ? dotK(kFmt, pk + 3 * kRow, pq, pqq, hd, fm, fs) * scale : -Infinity;
          }
          const m1 = max<f32>(m, s0), m2 = max<f32>(m1, s1), m3 = max<f32>(m2, s2);
          // Per position, as one at a time: a new max gives c = e^(m - s), p = 1; else c = 1,
          // p = e^(s - m). m - s = -(s - m) exactly, so one exp4 of -|s - m| serves both.
          let sv = f32x4.replace_lane(f32x4.splat(s0), 1, s1);
          sv = f32x4.replace_lane(sv, 2, s2);
          sv = f32x4.replace_lane(sv, 3, s3);
          let mv = f32x4.replace_lane(f32x4.splat(m), 1, m1);
          mv = f32x4.replace_lane(mv, 2, m2);
          mv = f32x4.replace_lane(mv, 3, m3);
          const d = f32x4.sub(sv, mv);
          const e = exp4(f32x4.pmin(d, f32x4.neg(d)));
          const up = f32x4.gt(sv, mv);
          const one = f32x4.splat(1);
          const cv = v128.bitselect(e, one, up);
          // Lanes past the chunk weigh exactly 0.
          const pv = v128.and(v128.bitselect(one, e, up), f32x4.gt(sv, f32x4.splat(-Infinity)));
          const c0 = f32x4.extract_lane(cv, 0), c1 = f32x4.extract_lane(cv, 1);
          const c2 = f32x4.extract_lane(cv, 2), c3 = f32x4.extract_lane(cv, 3);
          const p0 = f32x4.extract_lane(pv, 0), p1 = f32x4.extract_lane(pv, 1);
          const p2 = f32x4.extract_lane(pv, 2), p3 = f32x4.extract_lane(pv, 3);
          l = l * c0 + p0;
          if (cnt > 1) l = l * c1 + p1;
          if (cnt > 2) l = l * c2 + p2;
          if (cnt > 3) l = l * c3 + p3;
          m = max<f32>(m3, s3);
          store<f32>(pm, m);
          store<f32>(pm, l, 4);
          madV4(vFmt, pv0, pv1, pv2, pv3, p0, p1, p2, p3, c0, c1, c2, c3, out + <usize>h * hdb, hd, fm, fs);
        }
        j += cnt;
        row += <usize>cnt;
      }
    }
    for (let g = 0; g < G; g++) {
      const h = h0 + g;
      const po = out + <usize>h * hdb;
      const il = f32x4.splat(<f32>1 / load<f32>(ml + (<usize>h << 3), 4));
      for (let i = 0; i < hd; i += 4) v128.store(po + (<usize>i << 2), f32x4.mul(v128.load(po + (<usize>i << 2)), il));
    }
  }
}
