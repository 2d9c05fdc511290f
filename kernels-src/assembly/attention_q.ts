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
// Multi-query units as attention_paged: u = block * nHeadKV + kh (a block of tb tokens x the KV
// head's G query heads). Positions go in chunks of up to 4 inside a block's run of rows; a
// quantized chunk is unpacked once into the call's scratch (K quants widened to i16 with the 4
// rows' scales per block, V quants as exact f32 with their scales) and serves every query row of
// the unit. Per row: 4 scores, the online-softmax update per position in order (scalar), then ONE
// pass over the accumulator applying the 4 updates acc = acc * c_j + p_j * V_j in position order:
// bit-identical to one position at a time, and to the row computed alone (decode step).
// Scratch `qq`: per (token, head) hd/32 blocks of 80 bytes (32 quants as i16, f32 d at +64);
// `ml` as attention_paged; `scr`: scratchBytes(hd) per unit, one slice per call (by u0).
import { f16Mask, f16Scale, f16x4, f16ToF32, f32ToF16, hsum } from "./common";
import { exp4 } from "./ops";
import { unitFirstToken, firstVisible, passEnd, startRows, finishRows, rowOf, runLast } from "./attention";

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

/** K head (f32 or f16 at pk) . q head (f32 at pq), one accumulator. */
function dotK(fmt: i32, pk: usize, pq: usize, hd: i32, fm: v128, fs: v128): f32 {
  let a = f32x4.splat(0);
  if (fmt == 1) {
    for (let i = 0; i < hd; i += 4) a = f32x4.add(a, f32x4.mul(v128.load(pq + (<usize>i << 2)), f16x4(pk + (<usize>i << 1), fm, fs)));
  } else {
    for (let i = 0; i < hd; i += 4) a = f32x4.add(a, f32x4.mul(v128.load(pq + (<usize>i << 2)), v128.load(pk + (<usize>i << 2))));
  }
  return hsum(a);
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

/** One position's update of 4 accumulator floats: acc * c + w * x (acc * c skipped when c is 1 for all). */
// @ts-ignore: decorator
@inline function upd(acc: v128, c: v128, w: v128, x: v128, rescale: bool): v128 {
  return f32x4.add(rescale ? f32x4.mul(acc, c) : acc, f32x4.mul(w, x));
}

/**
 * out[hd] = for j = 0..3 in order: out * c_j + p_j * V_j (V_j: the f32 or f16 V head at pv_j,
 * format fmt); the same bits as one position at a time with out scaled by c_j first.
 */
function madV4(fmt: i32, pv0: usize, pv1: usize, pv2: usize, pv3: usize, p0: f32, p1: f32, p2: f32, p3: f32, c0: f32, c1: f32, c2: f32, c3: f32, out: usize, hd: i32, fm: v128, fs: v128): void {
  const rescale = c0 != 1 || c1 != 1 || c2 != 1 || c3 != 1;
  const C0 = f32x4.splat(c0), C1 = f32x4.splat(c1), C2 = f32x4.splat(c2), C3 = f32x4.splat(c3);
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


/** q head (hd f32) -> hd/32 blocks of 80 B at dst: the Q8_0 quants widened to i16 (64 B), f32 d
 *  at +64 (the d ggml's quantizer stores: f16-rounded). */
function quantizeHead(q: usize, hd: i32, dst: usize): void {
  for (let b = 0; b < hd >> 5; b++) {
    const px = q + (<usize>b << 7);
    let amax: f32 = 0;
    for (let i = 0; i < 32; i++) amax = max<f32>(amax, abs<f32>(load<f32>(px + (<usize>i << 2))));
    const id: f32 = amax != 0 ? <f32>127 / amax : 0;
    const pd = dst + <usize>b * 80;
    for (let i = 0; i < 32; i++) store<i16>(pd + (<usize>i << 1), <i16>(<i32>nearestEven(load<f32>(px + (<usize>i << 2)) * id)));
    store<f32>(pd, f16ToF32(f32ToF16(amax / 127)), 64);
  }
}

/** Q4_0 block's 16 bytes -> elements 0..15 (half 0) or 16..31 (half 1) as i8 q - 8. */
// @ts-ignore: decorator
@inline function nib(x: v128, half: i32): v128 {
  return i8x16.sub(half == 0 ? v128.and(x, i8x16.splat(0x0f)) : i8x16.shr_u(x, 4), i8x16.splat(8));
}

/** The 32 quants of a Q8_0 / Q4_0 block at pb as two i8x16 (elements 0..15, 16..31) in gX1 / return. */
let gX1: v128 = i8x16.splat(0);
// @ts-ignore: decorator
@inline function quants(fmt: i32, pb: usize): v128 {
  if (fmt == 2) {
    gX1 = v128.load(pb + 18);
    return v128.load(pb + 2);
  }
  const x = v128.load(pb + 2);
  gX1 = nib(x, 1);
  return nib(x, 0);
}

/**
 * A chunk's 4 quantized rows (row r at p0 + r * rowB for r < cnt, row 0 again past cnt) unpacked
 * to dst: per row hd elements (K: i16, `asF32` 0; V: exact f32, `asF32` 1), then per block the 4
 * rows' scales as f32x4 (16 B) at dst + 4 * rowBytes.
 */
function unpack(fmt: i32, p0: usize, rowB: usize, cnt: i32, hd: i32, dst: usize, asF32: i32, fm: v128, fs: v128): void {
  const bb: usize = fmt == 2 ? 34 : 18;
  const rb: usize = asF32 != 0 ? <usize>hd << 2 : <usize>hd << 1;
  const r1 = p0 + (cnt > 1 ? rowB : 0), r2 = p0 + (cnt > 2 ? 2 * rowB : 0), r3 = p0 + (cnt > 3 ? 3 * rowB : 0);
  const pd = dst + (rb << 2);
  for (let b = 0; b < hd >> 5; b++) {
    const o = <usize>b * bb;
    v128.store(pd + (<usize>b << 4), d4(p0 + o, r1 + o, r2 + o, r3 + o, fm, fs));
    for (let r = 0; r < 4; r++) {
      const src = r == 0 ? p0 : r == 1 ? r1 : r == 2 ? r2 : r3;
      const x0 = quants(fmt, src + o);
      const x1 = gX1;
      const l0 = i16x8.extend_low_i8x16_s(x0), h0 = i16x8.extend_high_i8x16_s(x0);
      const l1 = i16x8.extend_low_i8x16_s(x1), h1 = i16x8.extend_high_i8x16_s(x1);
      if (asF32 != 0) {
        const d = dst + <usize>r * rb + (<usize>b << 7);
        v128.store(d, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(l0)));
        v128.store(d, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(l0)), 16);
        v128.store(d, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h0)), 32);
        v128.store(d, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h0)), 48);
        v128.store(d, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(l1)), 64);
        v128.store(d, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(l1)), 80);
        v128.store(d, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h1)), 96);
        v128.store(d, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h1)), 112);
      } else {
        const d = dst + <usize>r * rb + (<usize>b << 6);
        v128.store(d, l0);
        v128.store(d, h0, 16);
        v128.store(d, l1, 32);
        v128.store(d, h1, 48);
      }
    }
  }
}

/** Lanes cnt..3 of v replaced by lane 0 (a row's pad lanes read the chunk's row 0, as alone). */
// @ts-ignore: decorator
@inline function padLanes(v: v128, cnt: i32): v128 {
  if (cnt >= 4) return v;
  if (cnt == 3) return v128.shuffle<f32>(v, v, 0, 1, 2, 0);
  if (cnt == 2) return v128.shuffle<f32>(v, v, 0, 1, 0, 0);
  return v128.shuffle<f32>(v, v, 0, 0, 0, 0);
}

/**
 * Raw scores of the q head (i16 quants + d at qq) against the unpacked K chunk at kc (4 rows of
 * hd i16, then per block the rows' dK as f32x4): per lane sum over blocks of isum * (dK * dQ) in
 * block order, ggml's order. Lanes past a row's cnt hold row data the caller masks.
 */
function scoresQ(kc: usize, qq: usize, hd: i32): v128 {
  let s = f32x4.splat(0);
  const rb = <usize>hd << 1;
  const pd = kc + (rb << 2);
  for (let b = 0; b < hd >> 5; b++) {
    const qb = qq + <usize>b * 80;
    const qa = v128.load(qb), qb2 = v128.load(qb, 16), qc = v128.load(qb, 32), qd = v128.load(qb, 48);
    const k0 = kc + (<usize>b << 6), k1 = k0 + rb, k2 = k1 + rb, k3 = k2 + rb;
    const a0 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(v128.load(k0), qa), i32x4.dot_i16x8_s(v128.load(k0, 16), qb2)), i32x4.add(i32x4.dot_i16x8_s(v128.load(k0, 32), qc), i32x4.dot_i16x8_s(v128.load(k0, 48), qd)));
    const a1 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(v128.load(k1), qa), i32x4.dot_i16x8_s(v128.load(k1, 16), qb2)), i32x4.add(i32x4.dot_i16x8_s(v128.load(k1, 32), qc), i32x4.dot_i16x8_s(v128.load(k1, 48), qd)));
    const a2 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(v128.load(k2), qa), i32x4.dot_i16x8_s(v128.load(k2, 16), qb2)), i32x4.add(i32x4.dot_i16x8_s(v128.load(k2, 32), qc), i32x4.dot_i16x8_s(v128.load(k2, 48), qd)));
    const a3 = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(v128.load(k3), qa), i32x4.dot_i16x8_s(v128.load(k3, 16), qb2)), i32x4.add(i32x4.dot_i16x8_s(v128.load(k3, 32), qc), i32x4.dot_i16x8_s(v128.load(k3, 48), qd)));
    const dk = f32x4.mul(v128.load(pd + (<usize>b << 4)), v128.load32_splat(qb + 64));
    s = f32x4.add(s, f32x4.mul(f32x4.convert_i32x4_s(hsum4(a0, a1, a2, a3)), dk));
  }
  return s;
}

/**
 * acc (hd f32 at out) = for j = 0..3 in order: acc * c_j + (p_j * dV_j) * x_j over the unpacked V
 * chunk at vc (4 rows of hd exact f32 quants, then per block the rows' dV as f32x4); rows past
 * cnt read row 0 (as the row alone). `rescale` false when every c_j is 1 (acc * 1 skipped).
 */
function madVQ(vc: usize, cnt: i32, P: v128, cv: v128, out: usize, hd: i32): void {
  const rescale = f32x4.extract_lane(cv, 0) != 1 || f32x4.extract_lane(cv, 1) != 1 || f32x4.extract_lane(cv, 2) != 1 || f32x4.extract_lane(cv, 3) != 1;
  const C0 = v128.shuffle<f32>(cv, cv, 0, 0, 0, 0), C1 = v128.shuffle<f32>(cv, cv, 1, 1, 1, 1);
  const C2 = v128.shuffle<f32>(cv, cv, 2, 2, 2, 2), C3 = v128.shuffle<f32>(cv, cv, 3, 3, 3, 3);
  const rb = <usize>hd << 2;
  const x0 = vc, x1 = vc + (cnt > 1 ? rb : 0), x2 = vc + (cnt > 2 ? 2 * rb : 0), x3 = vc + (cnt > 3 ? 3 * rb : 0);
  const pd = vc + (rb << 2);
  for (let b = 0; b < hd >> 5; b++) {
    const wv = f32x4.mul(P, padLanes(v128.load(pd + (<usize>b << 4)), cnt));
    const w0 = v128.shuffle<f32>(wv, wv, 0, 0, 0, 0), w1 = v128.shuffle<f32>(wv, wv, 1, 1, 1, 1);
    const w2 = v128.shuffle<f32>(wv, wv, 2, 2, 2, 2), w3 = v128.shuffle<f32>(wv, wv, 3, 3, 3, 3);
    const e0 = <usize>b << 7;
    for (let e = e0; e < e0 + 128; e += 16) {
      let a = v128.load(out + e);
      a = upd(a, C0, w0, v128.load(x0 + e), rescale);
      a = upd(a, C1, w1, v128.load(x1 + e), rescale);
      a = upd(a, C2, w2, v128.load(x2 + e), rescale);
      a = upd(a, C3, w3, v128.load(x3 + e), rescale);
      v128.store(out + e, a);
    }
  }
}

/** Scratch bytes per call of attention_paged_q: unpacked K (hd * 8 + hd / 2) and V (hd * 16 + hd / 2). */
// @ts-ignore: decorator
@inline function scratchBytes(hd: i32): usize {
  return <usize>hd << 5;
}

/** Tokens tA..tB-1 (same first visible position) x KV head kh's G query heads; scr: this call's scratch. */
function attendBlockQ(
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  nKV: i32,
  nHead: i32,
  G: i32,
  hd: i32,
  pos0: i32,
  scale: f32,
  ml: usize,
  table: usize,
  blockSize: i32,
  kFmt: i32,
  vFmt: i32,
  first: i32,
  tA: i32,
  tB: i32,
  kh: i32,
  qq: usize,
  scr: usize,
): void {
  const W = (nHead / G) * hd;
  const kRow = rowBytes(kFmt, W);
  const vRow = rowBytes(vFmt, W);
  const kHead = rowBytes(kFmt, hd);
  const vHead = rowBytes(vFmt, hd);
  const hdb = <usize>hd << 2;
  const qqHead = <usize>(hd >> 5) * 80;
  const fm = f16Mask(hd), fs = f16Scale(hd);
  const kq = kFmt >= 2, vq = vFmt >= 2;
  const kc = scr; // unpacked K: 4 rows of hd i16 + scales
  const vc = scr + (<usize>hd << 3) + (<usize>hd >> 1); // unpacked V: 4 rows of hd f32 + scales
  startRows(out, ml, tA, tB, nHead, G, kh, hdb);
  if (kq)
    for (let t = tA; t < tB; t++)
      for (let h = t * nHead + kh * G; h < t * nHead + kh * G + G; h++) quantizeHead(q + <usize>h * hdb, hd, qq + <usize>h * qqHead);
  const lastMax = min<i32>(nKV - 1, pos0 + tB - 1);
  let j = first;
  while (j <= lastMax) {
    // One block's run of contiguous rows, in chunks of up to 4 positions.
    const runEnd = runLast(j, lastMax, blockSize);
    let row = rowOf(j, table, blockSize);
    while (j <= runEnd) {
      const cntMax = min<i32>(4, runEnd - j + 1);
      const pk = k + row * kRow + <usize>kh * kHead;
      const pv0 = v + row * vRow + <usize>kh * vHead;
      if (kq) unpack(kFmt, pk, kRow, cntMax, hd, kc, 0, fm, fs);
      if (vq) unpack(vFmt, pv0, vRow, cntMax, hd, vc, 1, fm, fs);
      const tS = max<i32>(tA, j - pos0);
      for (let t = tS; t < tB; t++) {
        // This token's rows see cnt positions of the chunk; lanes past it read row 0 again with
        // weight 0 and scale 1 (no effect), as the row alone.
        const cnt = min<i32>(cntMax, min<i32>(nKV - 1, pos0 + t) - j + 1);
        const pv1 = pv0 + (cnt > 1 ? vRow : 0);
        const pv2 = pv0 + (cnt > 2 ? 2 * vRow : 0);
        const pv3 = pv0 + (cnt > 3 ? 3 * vRow : 0);
        const h0 = t * nHead + kh * G;
        for (let g = 0; g < G; g++) {
          const h = h0 + g;
          const pm = ml + (<usize>h << 3);
          const pq = q + <usize>h * hdb;
          let m = load<f32>(pm);
          let l = load<f32>(pm, 4);
          // Scores (lanes past the chunk: -inf), and the running max before each position.
          let s0: f32, s1: f32, s2: f32, s3: f32;
          if (kq) {
            const sk = f32x4.mul(scoresQ(kc, qq + <usize>h * qqHead, hd), f32x4.splat(scale));
            s0 = f32x4.extract_lane(sk, 0);
            s1 = cnt > 1 ? f32x4.extract_lane(sk, 1) : -Infinity;
            s2 = cnt > 2 ? f32x4.extract_lane(sk, 2) : -Infinity;
            s3 = cnt > 3 ? f32x4.extract_lane(sk, 3) : -Infinity;
          } else {
            s0 = dotK(kFmt, pk, pq, hd, fm, fs) * scale;
            s1 = cnt > 1 ? dotK(kFmt, pk + kRow, pq, hd, fm, fs) * scale : -Infinity;
            s2 = cnt > 2 ? dotK(kFmt, pk + 2 * kRow, pq, hd, fm, fs) * scale : -Infinity;
            s3 = cnt > 3 ? dotK(kFmt, pk + 3 * kRow, pq, hd, fm, fs) * scale : -Infinity;
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
          if (vq) madVQ(vc, cnt, pv, cv, out + <usize>h * hdb, hd);
          else madV4(vFmt, pv0, pv1, pv2, pv3, p0, p1, p2, p3, c0, c1, c2, c3, out + <usize>h * hdb, hd, fm, fs);
        }
      }
      j += cntMax;
      row += <usize>cntMax;
    }
  }
  finishRows(out, ml, tA, tB, nHead, G, kh, hd);
}

/** Units u0..u1-1 of ceil(nTok / tb) * nHeadKV, dealt as attention_paged's (attention.ts
 *  unitFirstToken, passEnd). */
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
  tb: i32,
  scr: usize,
  u0: i32,
  u1: i32,
): void {
  const G = nHead / nHeadKV;
  const s = scr + <usize>u0 * scratchBytes(hd);
  for (let u = u0; u < u1; u++) {
    const kh = u % nHeadKV;
    const tA = unitFirstToken(u, nHeadKV, nTok, tb);
    const tB = min<i32>(nTok, tA + tb);
    for (let t = tA; t < tB; ) {
      const e = passEnd(t, tA, tB, pos0, window);
      attendBlockQ(q, k, v, out, nKV, nHead, G, hd, pos0, scale, ml, table, blockSize, kFmt, vFmt, firstVisible(t, pos0, window), t, e, kh, qq, s);
      t = e;
    }
  }
}
