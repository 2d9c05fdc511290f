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
import { f16Mask, f16Scale, f16x4, f16ToF32, f32ToF16, i8x4 } from "./common";
import { expf1 } from "./ops";

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

/** out[hd] += p * V head (format fmt at pv). */
function madV(fmt: i32, pv: usize, p: f32, out: usize, hd: i32, fm: v128, fs: v128): void {
  if (fmt == 2) {
    for (let b = 0; b < hd >> 5; b++) {
      const vb = pv + <usize>b * 34;
      const w = f32x4.splat(p * f16ToF32(<i32>load<u16>(vb)));
      const po = out + (<usize>b << 7);
      for (let i = 0; i < 32; i += 4) {
        const o = po + (<usize>i << 2);
        v128.store(o, f32x4.add(v128.load(o), f32x4.mul(w, f32x4.convert_i32x4_s(i8x4(vb + 2 + i)))));
      }
    }
    return;
  }
  if (fmt == 3) {
    const lo = i8x16.splat(0x0f);
    const eight = i8x16.splat(8);
    for (let b = 0; b < hd >> 5; b++) {
      const vb = pv + <usize>b * 18;
      const w = f32x4.splat(p * f16ToF32(<i32>load<u16>(vb)));
      const x = v128.load(vb + 2);
      const po = out + (<usize>b << 7);
      for (let half = 0; half < 2; half++) {
        const n = i8x16.sub(half == 0 ? v128.and(x, lo) : i8x16.shr_u(x, 4), eight);
        const n0 = i16x8.extend_low_i8x16_s(n);
        const n1 = i16x8.extend_high_i8x16_s(n);
        const ph = po + (<usize>half << 6);
        v128.store(ph, f32x4.add(v128.load(ph), f32x4.mul(w, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(n0)))));
        v128.store(ph + 16, f32x4.add(v128.load(ph + 16), f32x4.mul(w, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(n0)))));
        v128.store(ph + 32, f32x4.add(v128.load(ph + 32), f32x4.mul(w, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(n1)))));
        v128.store(ph + 48, f32x4.add(v128.load(ph + 48), f32x4.mul(w, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(n1)))));
      }
    }
    return;
  }
  const w = f32x4.splat(p);
  if (fmt == 1) {
    for (let i = 0; i < hd; i += 4) {
      const o = out + (<usize>i << 2);
      v128.store(o, f32x4.add(v128.load(o), f32x4.mul(w, f16x4(pv + (<usize>i << 1), fm, fs))));
    }
  } else {
    for (let i = 0; i < hd; i += 4) {
      const o = out + (<usize>i << 2);
      v128.store(o, f32x4.add(v128.load(o), f32x4.mul(w, v128.load(pv + (<usize>i << 2)))));
    }
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
    for (let j = first; j <= last; j++) {
      const blk = j / blockSize;
      const row = <usize>load<i32>(table + (<usize>blk << 2)) * <usize>blockSize + <usize>(j - blk * blockSize);
      const pk = k + row * kRow + <usize>kh * kHead;
      const pv = v + row * vRow + <usize>kh * vHead;
      for (let g = 0; g < G; g++) {
        const h = h0 + g;
        const pm = ml + (<usize>h << 3);
        const po = out + <usize>h * hdb;
        const s = dotK(kFmt, pk, q + <usize>h * hdb, qq + <usize>h * qqHead, hd, fm, fs) * scale;
        let m = load<f32>(pm);
        let l = load<f32>(pm, 4);
        let p: f32 = 1;
        if (s > m) {
          const c = expf1(m - s); // 0 on the first position
          m = s;
          l *= c;
          const cv = f32x4.splat(c);
          for (let i = 0; i < hd; i += 4) v128.store(po + (<usize>i << 2), f32x4.mul(v128.load(po + (<usize>i << 2)), cv));
        } else {
          p = expf1(s - m);
        }
        store<f32>(pm, m);
        store<f32>(pm, l + p, 4);
        madV(vFmt, pv, p, po, hd, fm, fs);
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
