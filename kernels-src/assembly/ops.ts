// Non-matrix ops on f32 data in the shared memory: SwiGLU, add, RMSNorm, and attention (decode
// and causal prefill) with a flash-style online softmax. Work units are independent output rows
// (attention: one (token, head) pair), so results do not depend on the thread count.
// exp is our own (no Math tables: the module must stay free of data segments).

import { madd, KC, truncI32, hsum } from "./common";

const LOG2E: f32 = 1.4426950408889634;
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.428606765330187e-6;

/** e^x for f32x4: x = n*ln2 + r, |r| <= ln2/2, e^r by a degree-6 Taylor polynomial (relative
 *  error < 2e-7), times 2^n built in the exponent bits. Inputs are clamped to [-87, 88]. */
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  x = f32x4.pmax(f32x4.pmin(x, v128.load(KC, 144)), v128.load(KC, 160)); // p-forms: one instruction each
  const n = f32x4.nearest(f32x4.mul(x, v128.load(KC, 176)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, v128.load(KC, 192))), f32x4.mul(n, v128.load(KC, 208)));
  let p = v128.load(KC, 224);
  p = f32x4.add(f32x4.mul(p, r), v128.load(KC, 240));
  p = f32x4.add(f32x4.mul(p, r), v128.load(KC, 256));
  p = f32x4.add(f32x4.mul(p, r), v128.load(KC, 272));
  p = f32x4.add(f32x4.mul(p, r), v128.load(KC, 288));
  p = f32x4.add(f32x4.mul(p, r), v128.load(KC, 304));
  p = f32x4.add(f32x4.mul(p, r), v128.load(KC, 304));
  const scale = i32x4.shl(i32x4.add(truncI32(n), v128.load(KC, 320)), 23);
  return f32x4.mul(p, scale);
}

/** Scalar e^x with the same polynomial. */
// @ts-ignore: decorator
@inline export function expf1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

/** out = silu(gate) * up = gate / (1 + e^-gate) * up over elements [1024*u0, min(n, 1024*u1)). */
export function silu_mul(gate: usize, up: usize, out: usize, n: i32, u0: i32, u1: i32): void {
  const end = min<i32>(n, u1 << 10);
  let i = u0 << 10;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(gate + o);
    const s = f32x4.div(g, f32x4.add(f32x4.splat(1), exp4(f32x4.neg(g))));
    v128.store(out + o, f32x4.mul(s, v128.load(up + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(gate + o);
    store<f32>(out + o, (g / (1 + expf1(-g))) * load<f32>(up + o));
  }
}

/** out = a + b over elements [1024*u0, min(n, 1024*u1)). */
export function add_f32(a: usize, b: usize, out: usize, n: i32, u0: i32, u1: i32): void {
  const end = min<i32>(n, u1 << 10);
  let i = u0 << 10;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** RMSNorm of rows u0..u1-1 of x [rows][n]: out = x / sqrt(mean(x^2) + eps) * w. */
export function rms_norm(x: usize, w: usize, out: usize, n: i32, eps: f32, u0: i32, u1: i32): void {
  for (let r = u0; r < u1; r++) {
    const px = x + ((<usize>r * <usize>n) << 2);
    const po = out + ((<usize>r * <usize>n) << 2);
    let a = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(px + (<usize>i << 2));
      a = f32x4.add(a, f32x4.mul(v, v));
    }
    let ss: f32 = hsum(a);
    for (; i < n; i++) {
      const v = load<f32>(px + (<usize>i << 2));
      ss += v * v;
    }
    const scale: f32 = <f32>1 / sqrt<f32>(ss / <f32>n + eps);
    const sv = f32x4.splat(scale);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(po + o, f32x4.mul(f32x4.mul(v128.load(px + o), sv), v128.load(w + o)));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(po + o, load<f32>(px + o) * scale * load<f32>(w + o));
    }
  }
}

/** Dot of hd f32 at a and b (hd any size; SIMD over multiples of 4): attention_f32's and the
 *  paged attention's (attention.ts) score of one f32 K row. */
// @ts-ignore: decorator
@inline export function dotF32(a: usize, b: usize, hd: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= hd; i += 8) {
    const o = <usize>i << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
  }
  for (; i + 4 <= hd; i += 4) {
    const o = <usize>i << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  s0 = f32x4.add(s0, s1);
  let s: f32 = hsum(s0);
  for (; i < hd; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

/**
 * Causal GQA attention, one work unit per (token, KV head kh), u = ti*nHeadKV + kh, covering
 * the query heads kh*G..kh*G+G-1 (G = nHead/nHeadKV):
 *   q, out: [nTok][nHead][hd]; k, v: [nKV][nHeadKV][hd]; token t sits at position pos0 + t and
 *   sees cache positions 0..min(nKV-1, pos0+t).
 * Flash-style, one pass over the positions: per head a running max m, normaliser l (kept in
 * ml: f32[units][G][2]) and f32 accumulator acc[hd] (kept in out's row); a new maximum rescales
 * acc and l by e^(m_old - m_new), so no [nKV] score buffer is needed. Each K/V row is read once
 * for all G heads of its group (GQA), while it is in L1, and a thread's heads are visited
 * position by position, so a long cache is streamed once, contiguously.
 */
export function attention_f32(q: usize, k: usize, v: usize, out: usize, nTok: i32, nKV: i32, nHead: i32, nHeadKV: i32, hd: i32, pos0: i32, scale: f32, ml: usize, u0: i32, u1: i32): void {
  const G = nHead / nHeadKV;
  const kvStride = (<usize>nHeadKV * <usize>hd) << 2;
  const hdb = <usize>hd << 2;
  let u = u0;
  while (u < u1) {
    // This thread's KV heads khA..khB-1 of token t: positions outer, heads inner, so each
    // position's K/V rows for these heads are one contiguous read (a head-outer order strides
    // by the whole row and becomes memory-latency bound on long caches).
    // Units are ordered (ti, kh) with tokens interleaved from both ends (t = 0, T-1, 1, T-2,
    // ...), so contiguous per-thread unit ranges get equal shares of the causal triangle.
    const ti = u / nHeadKV;
    const t = (ti & 1) == 0 ? ti >> 1 : nTok - 1 - (ti >> 1);
    const khA = u - ti * nHeadKV;
    const khB = min<i32>(nHeadKV, khA + (u1 - u));
    const last = min<i32>(nKV - 1, pos0 + t);
    const hA = t * nHead + khA * G; // first query row
    const nh = (khB - khA) * G;
    const pml = ml + (<usize>hA << 3);
    memory.fill(out + <usize>hA * hdb, 0, <usize>nh * hdb);
    for (let g = 0; g < nh; g++) {
      store<f32>(pml + (<usize>g << 3), -Infinity);
      store<f32>(pml + (<usize>g << 3), 0, 4);
    }
    for (let j = 0; j <= last; j++) {
      for (let kh = khA; kh < khB; kh++) {
        const row = <usize>j * kvStride + <usize>kh * hdb;
        const pk = k + row;
        const pvr = v + row;
        for (let g = (kh - khA) * G; g < (kh - khA + 1) * G; g++) {
          const pq = q + <usize>(hA + g) * hdb;
          const po = out + <usize>(hA + g) * hdb;
          const pm = pml + (<usize>g << 3);
          const s = dotF32(pq, pk, hd) * scale;
          let m = load<f32>(pm);
          const l = load<f32>(pm, 4);
          let p: f32;
          let c: f32 = 1;
          if (s > m) {
            c = expf1(m - s); // 0 on the first position (m = -inf; l and acc are 0 anyway)
            m = s;
            p = 1;
          } else {
            p = expf1(s - m);
          }
          store<f32>(pm, m);
          store<f32>(pm, l * c + p, 4);
          const pv = f32x4.splat(p);
          let i = 0;
          if (c == 1) {
            for (; i + 4 <= hd; i += 4) {
              const o = <usize>i << 2;
              v128.store(po + o, f32x4.add(v128.load(po + o), f32x4.mul(pv, v128.load(pvr + o))));
            }
          } else {
            const cv = f32x4.splat(c);
            for (; i + 4 <= hd; i += 4) {
              const o = <usize>i << 2;
              v128.store(po + o, f32x4.add(f32x4.mul(v128.load(po + o), cv), f32x4.mul(pv, v128.load(pvr + o))));
            }
          }
          for (; i < hd; i++) store<f32>(po + (<usize>i << 2), load<f32>(po + (<usize>i << 2)) * c + p * load<f32>(pvr + (<usize>i << 2)));
        }
      }
    }
    for (let g = 0; g < nh; g++) {
      const po = out + <usize>(hA + g) * hdb;
      const l = load<f32>(pml + (<usize>g << 3), 4);
      const il = f32x4.splat(<f32>1 / l);
      let i = 0;
      for (; i + 4 <= hd; i += 4) v128.store(po + (<usize>i << 2), f32x4.mul(v128.load(po + (<usize>i << 2)), il));
      for (; i < hd; i++) store<f32>(po + (<usize>i << 2), load<f32>(po + (<usize>i << 2)) / l);
    }
    u += khB - khA;
  }
}

/**
 * In-place softmax of rows u0..u1-1 of x [nRows][n]: max, e^(x - max) (exp4), sum, multiply by
 * 1/sum. Tails (n % 4) in scalar code with the same polynomial.
 */
export function softmax_f32(x: usize, n: i32, u0: i32, u1: i32): void {
  for (let r = u0; r < u1; r++) {
    const p = x + ((<usize>r * <usize>n) << 2);
    let mv = f32x4.splat(-Infinity);
    let i = 0;
    for (; i + 4 <= n; i += 4) mv = f32x4.pmax(mv, v128.load(p + (<usize>i << 2)));
    let m = max<f32>(max<f32>(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max<f32>(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (; i < n; i++) m = max<f32>(m, load<f32>(p + (<usize>i << 2)));
    const ms = f32x4.splat(m);
    let sv = f32x4.splat(0);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = p + (<usize>i << 2);
      const e = exp4(f32x4.sub(v128.load(o), ms));
      v128.store(o, e);
      sv = f32x4.add(sv, e);
    }
    let s: f32 = hsum(sv);
    for (; i < n; i++) {
      const e = expf1(load<f32>(p + (<usize>i << 2)) - m);
      store<f32>(p + (<usize>i << 2), e);
      s += e;
    }
    const inv = f32x4.splat(<f32>1 / s);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = p + (<usize>i << 2);
      v128.store(o, f32x4.mul(v128.load(o), inv));
    }
    for (; i < n; i++) store<f32>(p + (<usize>i << 2), load<f32>(p + (<usize>i << 2)) * f32x4.extract_lane(inv, 0));
  }
}

/** x0*c - x1*s and x0*s + x1*c with the second product rounded first and the first fused where
 *  the build has FMA (relaxed madd), as ggml's compiled rope loop (and model/blocks/rope.ts). */
// @ts-ignore: decorator
@inline function rot0(x0: v128, x1: v128, c: v128, s: v128): v128 {
  return madd(x0, c, f32x4.neg(f32x4.mul(x1, s)));
}
// @ts-ignore: decorator
@inline function rot1(x0: v128, x1: v128, c: v128, s: v128): v128 {
  return madd(x0, s, f32x4.mul(x1, c));
}

/**
 * In-place RoPE of tokens u0..u1-1 of x [nTok][nHeads][headDim] with precomputed angles
 * cos/sin [nTok][nRot/2] (f32): NeoX pairs (i, i + nRot/2), normal pairs (2i, 2i+1); dims past
 * nRot pass through. SIMD over 4 pairs; tails in scalar code with the same expression.
 */
export function rope_f32(x: usize, cos: usize, sin: usize, nHeads: i32, headDim: i32, nRot: i32, neox: i32, u0: i32, u1: i32): void {
  const half = nRot >> 1;
  for (let t = u0; t < u1; t++) {
    const pc = cos + ((<usize>t * <usize>half) << 2);
    const ps = sin + ((<usize>t * <usize>half) << 2);
    for (let h = 0; h < nHeads; h++) {
      const b = x + ((<usize>(t * nHeads + h) * <usize>headDim) << 2);
      let i = 0;
      if (neox) {
        for (; i + 4 <= half; i += 4) {
          const o0 = b + (<usize>i << 2);
          const o1 = o0 + (<usize>half << 2);
          const x0 = v128.load(o0), x1 = v128.load(o1);
          const c = v128.load(pc + (<usize>i << 2)), s = v128.load(ps + (<usize>i << 2));
          v128.store(o0, rot0(x0, x1, c, s));
          v128.store(o1, rot1(x0, x1, c, s));
        }
        for (; i < half; i++) {
          const o0 = b + (<usize>i << 2);
          const o1 = o0 + (<usize>half << 2);
          const x0 = f32x4.splat(load<f32>(o0)), x1 = f32x4.splat(load<f32>(o1));
          const c = f32x4.splat(load<f32>(pc + (<usize>i << 2))), s = f32x4.splat(load<f32>(ps + (<usize>i << 2)));
          store<f32>(o0, f32x4.extract_lane(rot0(x0, x1, c, s), 0));
          store<f32>(o1, f32x4.extract_lane(rot1(x0, x1, c, s), 0));
        }
      } else {
        for (; i + 4 <= half; i += 4) {
          const o = b + (<usize>i << 3);
          const a = v128.load(o), bb = v128.load(o, 16);
          const x0 = v128.shuffle<f32>(a, bb, 0, 2, 4, 6);
          const x1 = v128.shuffle<f32>(a, bb, 1, 3, 5, 7);
          const c = v128.load(pc + (<usize>i << 2)), s = v128.load(ps + (<usize>i << 2));
          const y0 = rot0(x0, x1, c, s), y1 = rot1(x0, x1, c, s);
          v128.store(o, v128.shuffle<f32>(y0, y1, 0, 4, 1, 5));
          v128.store(o, v128.shuffle<f32>(y0, y1, 2, 6, 3, 7), 16);
        }
        for (; i < half; i++) {
          const o = b + (<usize>i << 3);
          const x0 = f32x4.splat(load<f32>(o)), x1 = f32x4.splat(load<f32>(o, 4));
          const c = f32x4.splat(load<f32>(pc + (<usize>i << 2))), s = f32x4.splat(load<f32>(ps + (<usize>i << 2)));
          store<f32>(o, f32x4.extract_lane(rot0(x0, x1, c, s), 0));
          store<f32>(o, f32x4.extract_lane(rot1(x0, x1, c, s), 0), 4);
        }
      }
    }
  }
}
