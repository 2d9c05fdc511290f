// Causal grouped-query attention, forward and backward, on f32 rows (the WASM twin of
// src/train/ops/attention.ts; same layout and the same formulas):
//   q: (B*T, nH*hd)   k, v: (B*T, nKV*hd)   out: (B*T, nH*hd)   att: (B, nH, T, T) softmax rows
// Query head h reads kv head h / (nH/nKV). Scale 1/sqrt(hd). hd must be a multiple of 4 (the
// loader falls back to TS otherwise). SIMD over hd; scalar over key positions.
// Queries go in blocks of 4: each key / value row is loaded once per block, not once per query
// (at T 1,024 a head's rows do not fit in L1), four dot products are reduced together (hsum4) and
// out = att v runs key-outer with the head's lanes in registers. Every output element is summed in
// the same order as a one-query-at-a-time loop, so results are bit-identical to it (the training
// recipe's checkpoints depend on that).
import { hsum } from "../assembly/common";

/** hsum of each of four vectors, in hsum's order ((l0 + l1) + (l2 + l3)), as lanes 0..3. */
// @ts-ignore: decorator
@inline function hsum4(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const p01 = f32x4.add(v128.shuffle<f32>(s0, s1, 0, 4, 2, 6), v128.shuffle<f32>(s0, s1, 1, 5, 3, 7));
  const p23 = f32x4.add(v128.shuffle<f32>(s2, s3, 0, 4, 2, 6), v128.shuffle<f32>(s2, s3, 1, 5, 3, 7));
  return f32x4.add(v128.shuffle<f32>(p01, p23, 0, 1, 4, 5), v128.shuffle<f32>(p01, p23, 2, 3, 6, 7));
}

/** e^x for x <= 0 (softmax after max subtraction): x = n ln2 + r, |r| <= ln2/2, degree-6 Taylor
 *  for e^r (relative error < 2e-7), 2^n through the exponent bits. Own code: no lookup tables
 *  (a data segment would be re-copied into the shared memory by every instance). */
// @ts-ignore: decorator
@inline function expNeg(x: f32): f32 {
  if (x < -87) return 0;
  const n = nearest<f32>(x * <f32>1.44269504);
  const r = x - n * <f32>0.693145752 - n * <f32>1.42860677e-6;
  const c6: f32 = 0.00138888892, c5: f32 = 0.00833333377, c4: f32 = 0.0416666679, c3: f32 = 0.166666672;
  const p: f32 = <f32>1 + r * (<f32>1 + r * (<f32>0.5 + r * (c3 + r * (c4 + r * (c5 + r * c6)))));
  return p * reinterpret<f32>((<i32>n + 127) << 23);
}

/** expNeg on four lanes, each bit-identical to the scalar one. */
// @ts-ignore: decorator
@inline function expNeg4(x: v128): v128 {
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693145752))), f32x4.mul(n, f32x4.splat(1.42860677e-6)));
  let p = f32x4.add(f32x4.splat(0.00833333377), f32x4.mul(r, f32x4.splat(0.00138888892)));
  p = f32x4.add(f32x4.splat(0.0416666679), f32x4.mul(r, p));
  p = f32x4.add(f32x4.splat(0.166666672), f32x4.mul(r, p));
  p = f32x4.add(f32x4.splat(0.5), f32x4.mul(r, p));
  p = f32x4.add(f32x4.splat(1), f32x4.mul(r, p));
  p = f32x4.add(f32x4.splat(1), f32x4.mul(r, p));
  const e = f32x4.mul(p, i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23));
  return v128.andnot(e, f32x4.lt(x, f32x4.splat(-87)));
}

/** One score row t over keys 0..t, unscaled dot products times scale (a query without a block). */
// @ts-ignore: decorator
@inline function scoreRow(ao: usize, qo: usize, kb: usize, ks: usize, t: i32, hd: i32, scale: f32): void {
  for (let t2 = 0; t2 <= t; t2++) {
    const ko = kb + <usize>t2 * ks;
    let s = f32x4.splat(0);
    for (let i = 0; i < hd; i += 4) s = f32x4.add(s, f32x4.mul(v128.load(qo + (<usize>i << 2)), v128.load(ko + (<usize>i << 2))));
    store<f32>(ao + (<usize>t2 << 2), hsum(s) * scale);
  }
}

/** Softmax of row t's scores 0..t in place, zeros after it. */
// @ts-ignore: decorator
@inline function softmaxRow(ao: usize, t: i32, T: i32): void {
  let mx: f32 = -Infinity;
  for (let t2 = 0; t2 <= t; t2++) {
    const d = load<f32>(ao + (<usize>t2 << 2));
    if (d > mx) mx = d;
  }
  // exponentials four at a time, summed in key order
  let sum: f32 = 0;
  let t2 = 0;
  const m4 = f32x4.splat(mx);
  for (; t2 + 3 <= t; t2 += 4) {
    const p = ao + (<usize>t2 << 2);
    const e = expNeg4(f32x4.sub(v128.load(p), m4));
    v128.store(p, e);
    sum += f32x4.extract_lane(e, 0);
    sum += f32x4.extract_lane(e, 1);
    sum += f32x4.extract_lane(e, 2);
    sum += f32x4.extract_lane(e, 3);
  }
  for (; t2 <= t; t2++) {
    const p = ao + (<usize>t2 << 2);
    const e = expNeg(load<f32>(p) - mx);
    store<f32>(p, e);
    sum += e;
  }
  const inv: f32 = 1 / sum;
  const i4 = f32x4.splat(inv);
  t2 = 0;
  for (; t2 + 3 <= t; t2 += 4) {
    const p = ao + (<usize>t2 << 2);
    v128.store(p, f32x4.mul(v128.load(p), i4));
  }
  for (; t2 <= t; t2++) {
    const p = ao + (<usize>t2 << 2);
    store<f32>(p, load<f32>(p) * inv);
  }
  memory.fill(ao + (<usize>(t + 1) << 2), 0, <usize>(T - t - 1) << 2);
}

/** out row t (lanes i0 .. i0 + 4n, n <= 4) = sum over t2 <= t of att[t][t2] v[t2], key-outer. */
// @ts-ignore: decorator
@inline function avRow(oo: usize, ao: usize, vb: usize, ks: usize, t: i32, io: usize, n: i32): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  for (let t2 = 0; t2 <= t; t2++) {
    const a = v128.load32_splat(ao + (<usize>t2 << 2));
    const vo = vb + <usize>t2 * ks + io;
    s0 = f32x4.add(s0, f32x4.mul(a, v128.load(vo)));
    if (n > 1) s1 = f32x4.add(s1, f32x4.mul(a, v128.load(vo + 16)));
    if (n > 2) s2 = f32x4.add(s2, f32x4.mul(a, v128.load(vo + 32)));
    if (n > 3) s3 = f32x4.add(s3, f32x4.mul(a, v128.load(vo + 48)));
  }
  v128.store(oo + io, s0);
  if (n > 1) v128.store(oo + io + 16, s1);
  if (n > 2) v128.store(oo + io + 32, s2);
  if (n > 3) v128.store(oo + io + 48, s3);
}

export function attn_fwd(out: usize, att: usize, q: usize, k: usize, v: usize, B: i32, T: i32, nH: i32, nKV: i32, hd: i32): void {
  const rep = nH / nKV;
  const qs = <usize>(nH * hd) << 2; // bytes per token row of q / out
  const ks = <usize>(nKV * hd) << 2; // bytes per token row of k / v
  const scale: f32 = 1 / Mathf.sqrt(<f32>hd);
  const hb = <usize>hd << 2;
  const rowB = <usize>T << 2;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nH; h++) {
      const kh = <usize>(h / rep) * hb;
      const kb = k + <usize>(b * T) * ks + kh;
      const vb = v + <usize>(b * T) * ks + kh;
      const q0 = q + <usize>(b * T) * qs + <usize>h * hb;
      const a0 = att + (<usize>((b * nH + h) * T) * rowB);
      for (let t0 = 0; t0 < T; t0 += 4) {
        const nq = min(4, T - t0);
        if (nq == 4) {
          // keys 0..t0 serve all four queries; the last three only the queries at or after them
          const qa = q0 + <usize>t0 * qs;
          const aa = a0 + <usize>t0 * rowB;
          for (let t2 = 0; t2 <= t0; t2++) {
            const ko = kb + <usize>t2 * ks;
            let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
            for (let i = 0; i < hd; i += 4) {
              const io = <usize>i << 2;
              const kv = v128.load(ko + io);
              s0 = f32x4.add(s0, f32x4.mul(v128.load(qa + io), kv));
              s1 = f32x4.add(s1, f32x4.mul(v128.load(qa + qs + io), kv));
              s2 = f32x4.add(s2, f32x4.mul(v128.load(qa + 2 * qs + io), kv));
              s3 = f32x4.add(s3, f32x4.mul(v128.load(qa + 3 * qs + io), kv));
            }
            const r = f32x4.mul(hsum4(s0, s1, s2, s3), f32x4.splat(scale));
            const o = aa + (<usize>t2 << 2);
            store<f32>(o, f32x4.extract_lane(r, 0));
            store<f32>(o + rowB, f32x4.extract_lane(r, 1));
            store<f32>(o + 2 * rowB, f32x4.extract_lane(r, 2));
            store<f32>(o + 3 * rowB, f32x4.extract_lane(r, 3));
          }
          for (let j = 1; j < 4; j++) {
            const t = t0 + j;
            const qo = q0 + <usize>t * qs;
            const ao = a0 + <usize>t * rowB;
            for (let t2 = t0 + 1; t2 <= t; t2++) {
              const ko = kb + <usize>t2 * ks;
              let s = f32x4.splat(0);
              for (let i = 0; i < hd; i += 4) s = f32x4.add(s, f32x4.mul(v128.load(qo + (<usize>i << 2)), v128.load(ko + (<usize>i << 2))));
              store<f32>(ao + (<usize>t2 << 2), hsum(s) * scale);
            }
          }
        } else {
          for (let t = t0; t < t0 + nq; t++) scoreRow(a0 + <usize>t * rowB, q0 + <usize>t * qs, kb, ks, t, hd, scale);
        }
        for (let t = t0; t < t0 + nq; t++) {
          const ao = a0 + <usize>t * rowB;
          softmaxRow(ao, t, T);
          const oo = out + <usize>(b * T + t) * qs + <usize>h * hb;
          let i = 0;
          for (; i + 16 <= hd; i += 16) avRow(oo, ao, vb, ks, t, <usize>i << 2, 4);
          if (i < hd) avRow(oo, ao, vb, ks, t, <usize>i << 2, (hd - i) >> 2);
        }
      }
    }
  }
}

/** Accumulates into dq, dk, dv. datt: scratch of 4 T floats. */
export function attn_bwd(dq: usize, dk: usize, dv: usize, dout: usize, att: usize, q: usize, k: usize, v: usize, B: i32, T: i32, nH: i32, nKV: i32, hd: i32, datt: usize): void {
  const rep = nH / nKV;
  const qs = <usize>(nH * hd) << 2;
  const ks = <usize>(nKV * hd) << 2;
  const scale: f32 = 1 / Mathf.sqrt(<f32>hd);
  const hb = <usize>hd << 2;
  const rowB = <usize>T << 2;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nH; h++) {
      const kh = <usize>(h / rep) * hb;
      const kb = <usize>(b * T) * ks + kh;
      for (let t0 = 0; t0 < T; t0 += 4) {
        const nq = min(4, T - t0);
        const qb = <usize>(b * T + t0) * qs + <usize>h * hb; // row t0 of q / dq / dout (offset)
        const ab = att + (<usize>((b * nH + h) * T + t0) * rowB); // att row t0
        let dot0: f32 = 0, dot1: f32 = 0, dot2: f32 = 0, dot3: f32 = 0;
        // d(att) = dout . v and dv += att * dout: keys 0..t0 for all rows of a full block together
        let shared = 0;
        if (nq == 4) {
          shared = t0 + 1;
          for (let t2 = 0; t2 <= t0; t2++) {
            const vo = kb + <usize>t2 * ks;
            const ap = ab + (<usize>t2 << 2);
            const p0 = load<f32>(ap), p1 = load<f32>(ap + rowB), p2 = load<f32>(ap + 2 * rowB), p3 = load<f32>(ap + 3 * rowB);
            const a0 = f32x4.splat(p0), a1 = f32x4.splat(p1), a2 = f32x4.splat(p2), a3 = f32x4.splat(p3);
            let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
            for (let i = 0; i < hd; i += 4) {
              const io = <usize>i << 2;
              const vv = v128.load(v + vo + io);
              const g0 = v128.load(dout + qb + io);
              const g1 = v128.load(dout + qb + qs + io);
              const g2 = v128.load(dout + qb + 2 * qs + io);
              const g3 = v128.load(dout + qb + 3 * qs + io);
              s0 = f32x4.add(s0, f32x4.mul(g0, vv));
              s1 = f32x4.add(s1, f32x4.mul(g1, vv));
              s2 = f32x4.add(s2, f32x4.mul(g2, vv));
              s3 = f32x4.add(s3, f32x4.mul(g3, vv));
              let d = v128.load(dv + vo + io);
              d = f32x4.add(d, f32x4.mul(a0, g0));
              d = f32x4.add(d, f32x4.mul(a1, g1));
              d = f32x4.add(d, f32x4.mul(a2, g2));
              d = f32x4.add(d, f32x4.mul(a3, g3));
              v128.store(dv + vo + io, d);
            }
            const r = hsum4(s0, s1, s2, s3);
            const dp = datt + (<usize>t2 << 2);
            const d0 = f32x4.extract_lane(r, 0), d1 = f32x4.extract_lane(r, 1), d2 = f32x4.extract_lane(r, 2), d3 = f32x4.extract_lane(r, 3);
            store<f32>(dp, d0);
            store<f32>(dp + rowB, d1);
            store<f32>(dp + 2 * rowB, d2);
            store<f32>(dp + 3 * rowB, d3);
            dot0 += p0 * d0;
            dot1 += p1 * d1;
            dot2 += p2 * d2;
            dot3 += p3 * d3;
          }
        }
        // the rest of each row (all of it in a short block), one row at a time, rows in order per key
        for (let t2 = shared; t2 < t0 + nq; t2++) {
          const vo = kb + <usize>t2 * ks;
          for (let j = max(0, t2 - t0); j < nq; j++) {
            const go = qb + <usize>j * qs;
            const ap = ab + <usize>j * rowB + (<usize>t2 << 2);
            const a = v128.load32_splat(ap);
            let s = f32x4.splat(0);
            for (let i = 0; i < hd; i += 4) {
              const io = <usize>i << 2;
              const g = v128.load(dout + go + io);
              s = f32x4.add(s, f32x4.mul(g, v128.load(v + vo + io)));
              v128.store(dv + vo + io, f32x4.add(v128.load(dv + vo + io), f32x4.mul(a, g)));
            }
            const d = hsum(s);
            store<f32>(datt + <usize>j * rowB + (<usize>t2 << 2), d);
            const pd = load<f32>(ap) * d;
            if (j == 0) dot0 += pd;
            else if (j == 1) dot1 += pd;
            else if (j == 2) dot2 += pd;
            else dot3 += pd;
          }
        }
        // softmax backward, then through the scaled dot product: dq[t] += dpre k[t2], dk[t2] += dpre q[t]
        for (let j = 0; j < nq; j++) {
          const dot = j == 0 ? dot0 : j == 1 ? dot1 : j == 2 ? dot2 : dot3;
          const ap = ab + <usize>j * rowB;
          const dp = datt + <usize>j * rowB;
          for (let t2 = 0; t2 <= t0 + j; t2++) {
            const o = <usize>t2 << 2;
            store<f32>(dp + o, load<f32>(ap + o) * (load<f32>(dp + o) - dot) * scale);
          }
        }
        let tail = 0;
        if (nq == 4) {
          // keys 0..t0: the four rows together, one load and store of dk and one load of k per key
          tail = t0 + 1;
          for (let t2 = 0; t2 <= t0; t2++) {
            const ko = kb + <usize>t2 * ks;
            const dp = datt + (<usize>t2 << 2);
            const e0 = load<f32>(dp), e1 = load<f32>(dp + rowB), e2 = load<f32>(dp + 2 * rowB), e3 = load<f32>(dp + 3 * rowB);
            const c0 = f32x4.splat(e0), c1 = f32x4.splat(e1), c2 = f32x4.splat(e2), c3 = f32x4.splat(e3);
            for (let i = 0; i < hd; i += 4) {
              const io = <usize>i << 2;
              const kv = v128.load(k + ko + io);
              let d = v128.load(dk + ko + io);
              const o0 = qb + io;
              if (e0 != 0) {
                v128.store(dq + o0, f32x4.add(v128.load(dq + o0), f32x4.mul(c0, kv)));
                d = f32x4.add(d, f32x4.mul(c0, v128.load(q + o0)));
              }
              if (e1 != 0) {
                v128.store(dq + o0 + qs, f32x4.add(v128.load(dq + o0 + qs), f32x4.mul(c1, kv)));
                d = f32x4.add(d, f32x4.mul(c1, v128.load(q + o0 + qs)));
              }
              if (e2 != 0) {
                v128.store(dq + o0 + 2 * qs, f32x4.add(v128.load(dq + o0 + 2 * qs), f32x4.mul(c2, kv)));
                d = f32x4.add(d, f32x4.mul(c2, v128.load(q + o0 + 2 * qs)));
              }
              if (e3 != 0) {
                v128.store(dq + o0 + 3 * qs, f32x4.add(v128.load(dq + o0 + 3 * qs), f32x4.mul(c3, kv)));
                d = f32x4.add(d, f32x4.mul(c3, v128.load(q + o0 + 3 * qs)));
              }
              v128.store(dk + ko + io, d);
            }
          }
        }
        for (let t2 = tail; t2 < t0 + nq; t2++) {
          const ko = kb + <usize>t2 * ks;
          for (let j = max(0, t2 - t0); j < nq; j++) {
            const dpre = load<f32>(datt + <usize>j * rowB + (<usize>t2 << 2));
            if (dpre == 0) continue;
            const sp = f32x4.splat(dpre);
            const qo = qb + <usize>j * qs;
            for (let i = 0; i < hd; i += 4) {
              const io = <usize>i << 2;
              v128.store(dq + qo + io, f32x4.add(v128.load(dq + qo + io), f32x4.mul(sp, v128.load(k + ko + io))));
              v128.store(dk + ko + io, f32x4.add(v128.load(dk + ko + io), f32x4.mul(sp, v128.load(q + qo + io))));
            }
          }
        }
      }
    }
  }
}
