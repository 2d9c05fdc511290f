// Causal GQA attention over a PAGED KV cache, read in place (written by the perf-forward branch;
// the contiguous attention_f32 in ops.ts is the same algorithm on one dense block).
//
// Layout: the cache of one layer is a pool of rows, K [nRows][nHeadKV][hd] and V likewise, f32
// or IEEE f16 (`half` = 1). Position j of the sequence lives in row
//   table[j / blockSize] * blockSize + j % blockSize
// (table: i32[nKV / blockSize rounded up]; a dense cache is table = [0], blockSize >= nKV).
// q, out: f32 [nTok][nHead][hd]; token t sits at position pos0 + t and sees positions
// max(0, pos0 + t - window + 1) .. min(nKV - 1, pos0 + t) (window 0 = unlimited).
// One work unit per (token, KV head), u = ti*nHeadKV + kh, covering that KV head's G query heads;
// flash-style online softmax (running max m and sum l per head in ml: f32[nTok*nHead][2], the
// accumulator in out's row), so no [nKV] score buffer. Results do not depend on the thread count.
import { f16Mask, f16Scale, f16x4, madd, kcF16Mask, kcF16Scale } from "./common";
import { exp4, expf1 } from "./ops";

// @ts-ignore: decorator
@inline function dotF32(a: usize, b: usize, hd: i32): f32 {
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
  let s: f32 = f32x4.extract_lane(s0, 0) + f32x4.extract_lane(s0, 1) + (f32x4.extract_lane(s0, 2) + f32x4.extract_lane(s0, 3));
  for (; i < hd; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

/** q (f32) . k (f16 at kh), hd a multiple of 4. */
// @ts-ignore: decorator
@inline function dotF16(q: usize, kh: usize, hd: i32, fm: v128, fs: v128): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= hd; i += 8) {
    s0 = f32x4.add(s0, f32x4.mul(v128.load(q + (<usize>i << 2)), f16x4(kh + (<usize>i << 1), fm, fs)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(q + (<usize>i << 2), 16), f16x4(kh + (<usize>i << 1) + 8, fm, fs)));
  }
  for (; i < hd; i += 4) s0 = f32x4.add(s0, f32x4.mul(v128.load(q + (<usize>i << 2)), f16x4(kh + (<usize>i << 1), fm, fs)));
  s0 = f32x4.add(s0, s1);
  return f32x4.extract_lane(s0, 0) + f32x4.extract_lane(s0, 1) + (f32x4.extract_lane(s0, 2) + f32x4.extract_lane(s0, 3));
}

/** Four row sums of a0..a3 as one vector [sum a0, sum a1, sum a2, sum a3] (4 shuffles, 4 adds
 *  instead of four extract-lane horizontal sums). */
// @ts-ignore: decorator
@inline function reduce4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const s23 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(s01, s23, 0, 1, 4, 5), v128.shuffle<f32>(s01, s23, 2, 3, 6, 7));
}

/** q . k for four K rows at k0..k3 (f32), hd a multiple of 4: each q vector loaded once. */
// @ts-ignore: decorator
@inline function dots4F32(q: usize, k0: usize, k1: usize, k2: usize, k3: usize, hd: i32): v128 {
  // two accumulators per row: four chains of dependent fused adds would bound this by latency
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const end = <usize>hd << 2;
  let o: usize = 0;
  for (; o + 32 <= end; o += 32) {
    const qv = v128.load(q + o);
    const qw = v128.load(q + o, 16);
    a0 = madd(qv, v128.load(k0 + o), a0);
    a1 = madd(qv, v128.load(k1 + o), a1);
    a2 = madd(qv, v128.load(k2 + o), a2);
    a3 = madd(qv, v128.load(k3 + o), a3);
    b0 = madd(qw, v128.load(k0 + o, 16), b0);
    b1 = madd(qw, v128.load(k1 + o, 16), b1);
    b2 = madd(qw, v128.load(k2 + o, 16), b2);
    b3 = madd(qw, v128.load(k3 + o, 16), b3);
  }
  if (o < end) {
    const qv = v128.load(q + o);
    a0 = madd(qv, v128.load(k0 + o), a0);
    a1 = madd(qv, v128.load(k1 + o), a1);
    a2 = madd(qv, v128.load(k2 + o), a2);
    a3 = madd(qv, v128.load(k3 + o), a3);
  }
  return reduce4(f32x4.add(a0, b0), f32x4.add(a1, b1), f32x4.add(a2, b2), f32x4.add(a3, b3));
}

/** The same with f16 K rows. */
// @ts-ignore: decorator
@inline function dots4F16(q: usize, k0: usize, k1: usize, k2: usize, k3: usize, hd: i32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let i: usize = 0; i < <usize>hd; i += 4) {
    const qv = v128.load(q + (i << 2));
    const e = i << 1;
    a0 = madd(qv, f16x4(k0 + e, kcF16Mask(), kcF16Scale()), a0);
    a1 = madd(qv, f16x4(k1 + e, kcF16Mask(), kcF16Scale()), a1);
    a2 = madd(qv, f16x4(k2 + e, kcF16Mask(), kcF16Scale()), a2);
    a3 = madd(qv, f16x4(k3 + e, kcF16Mask(), kcF16Scale()), a3);
  }
  return reduce4(a0, a1, a2, a3);
}

export function attention_paged(
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
  half: i32,
  window: i32,
  u0: i32,
  u1: i32,
): void {
  const G = nHead / nHeadKV;
  const el: usize = half != 0 ? 2 : 4;
  const kvStride = <usize>nHeadKV * <usize>hd * el; // bytes per cache row
  const headB = <usize>hd * el; // bytes per KV head in a row
  const hdb = <usize>hd << 2; // bytes per q/out head
  const fm = f16Mask(hd), fs = f16Scale(hd);
  let u = u0;
  while (u < u1) {
    // Tokens interleaved from both ends (t = 0, T-1, 1, T-2, ...) so contiguous unit ranges get
    // equal shares of the causal triangle; this thread's KV heads khA..khB-1 of token t.
    const ti = u / nHeadKV;
    const t = (ti & 1) == 0 ? ti >> 1 : nTok - 1 - (ti >> 1);
    const khA = u - ti * nHeadKV;
    const khB = min<i32>(nHeadKV, khA + (u1 - u));
    const last = min<i32>(nKV - 1, pos0 + t);
    const first = window > 0 ? max<i32>(0, pos0 + t - window + 1) : 0;
    const hA = t * nHead + khA * G;
    const nh = (khB - khA) * G;
    const pml = ml + (<usize>hA << 3);
    memory.fill(out + <usize>hA * hdb, 0, <usize>nh * hdb);
    for (let g = 0; g < nh; g++) {
      store<f32>(pml + (<usize>g << 3), -Infinity);
      store<f32>(pml + (<usize>g << 3), 0, 4);
    }
    let j = first;
    while (j <= last) {
      // One block's run of positions: rows are contiguous inside a block. Positions go in chunks
      // of 4: four scores per head as one f32x4, one running-max update and one SIMD exp per
      // chunk (lanes past the run are -inf scores with weight 0).
      const blk = j / blockSize;
      const inBlk = j - blk * blockSize;
      const runEnd = min<i32>(last, j + (blockSize - inBlk) - 1);
      let rowB = (<usize>load<i32>(table + (<usize>blk << 2)) * <usize>blockSize + <usize>inBlk) * kvStride;
      while (j <= runEnd) {
        const cnt = min<i32>(4, runEnd - j + 1);
        for (let kh = khA; kh < khB; kh++) {
          const pk = k + rowB + <usize>kh * headB;
          const pvr = v + rowB + <usize>kh * headB;
          if ((hd & 3) == 0) {
            // Fast path: four scores per head from one pass over q (reduce4), fused multiply-adds,
            // the softmax update on the score vector, and no rescale of the accumulator while
            // the running max stands. Rows past the run read row 0 again (always in bounds) and
            // their scores are masked to -inf (weight exactly 0).
            const k1 = pk + (cnt > 1 ? kvStride : 0);
            const k2 = pk + (cnt > 2 ? 2 * kvStride : 0);
            const k3 = pk + (cnt > 3 ? 3 * kvStride : 0);
            const pv1 = pvr + (cnt > 1 ? kvStride : 0);
            const pv2 = pvr + (cnt > 2 ? 2 * kvStride : 0);
            const pv3 = pvr + (cnt > 3 ? 3 * kvStride : 0);
            // lane l < cnt keeps its score; the others become -inf
            const live = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(cnt));
            for (let g = (kh - khA) * G; g < (kh - khA + 1) * G; g++) {
              const pq = q + <usize>(hA + g) * hdb;
              const po = out + <usize>(hA + g) * hdb;
              const pm = pml + (<usize>g << 3);
              let sv = half != 0 ? dots4F16(pq, pk, k1, k2, k3, hd) : dots4F32(pq, pk, k1, k2, k3, hd);
              sv = v128.bitselect(f32x4.mul(sv, f32x4.splat(scale)), f32x4.splat(-Infinity), live);
              const mx = f32x4.pmax(sv, v128.shuffle<f32>(sv, sv, 2, 3, 0, 1));
              const mc = f32x4.extract_lane(f32x4.pmax(mx, v128.shuffle<f32>(mx, mx, 1, 0, 3, 2)), 0);
              let m = load<f32>(pm);
              let c: f32 = 1;
              if (mc > m) {
                c = expf1(m - mc); // 0 on the first chunk (m = -inf; l and acc are 0 anyway)
                m = mc;
              }
              const pv4 = v128.and(exp4(f32x4.sub(sv, f32x4.splat(m))), live);
              const ps = f32x4.add(pv4, v128.shuffle<f32>(pv4, pv4, 2, 3, 0, 1));
              store<f32>(pm, m);
              store<f32>(pm, load<f32>(pm, 4) * c + (f32x4.extract_lane(ps, 0) + f32x4.extract_lane(ps, 1)), 4);
              const q0 = v128.shuffle<f32>(pv4, pv4, 0, 0, 0, 0), q1 = v128.shuffle<f32>(pv4, pv4, 1, 1, 1, 1);
              const q2 = v128.shuffle<f32>(pv4, pv4, 2, 2, 2, 2), q3 = v128.shuffle<f32>(pv4, pv4, 3, 3, 3, 3);
              const rescale = c != 1;
              const cv = f32x4.splat(c);
              if (half != 0) {
                for (let i: usize = 0; i < <usize>hd; i += 4) {
                  const o = i << 2;
                  const e = i << 1;
                  let acc = v128.load(po + o);
                  if (rescale) acc = f32x4.mul(acc, cv);
                  acc = madd(q0, f16x4(pvr + e, kcF16Mask(), kcF16Scale()), acc);
                  acc = madd(q1, f16x4(pv1 + e, kcF16Mask(), kcF16Scale()), acc);
                  acc = madd(q2, f16x4(pv2 + e, kcF16Mask(), kcF16Scale()), acc);
                  acc = madd(q3, f16x4(pv3 + e, kcF16Mask(), kcF16Scale()), acc);
                  v128.store(po + o, acc);
                }
              } else {
                for (let o: usize = 0; o < (<usize>hd << 2); o += 16) {
                  let acc = v128.load(po + o);
                  if (rescale) acc = f32x4.mul(acc, cv);
                  acc = madd(q0, v128.load(pvr + o), acc);
                  acc = madd(q1, v128.load(pv1 + o), acc);
                  acc = madd(q2, v128.load(pv2 + o), acc);
                  acc = madd(q3, v128.load(pv3 + o), acc);
                  v128.store(po + o, acc);
                }
              }
            }
            continue;
          }
          for (let g = (kh - khA) * G; g < (kh - khA + 1) * G; g++) {
            const pq = q + <usize>(hA + g) * hdb;
            const po = out + <usize>(hA + g) * hdb;
            const pm = pml + (<usize>g << 3);
            let d0: f32 = -Infinity, d1: f32 = -Infinity, d2: f32 = -Infinity, d3: f32 = -Infinity;
            if (half != 0) {
              d0 = dotF16(pq, pk, hd, fm, fs) * scale;
              if (cnt > 1) d1 = dotF16(pq, pk + kvStride, hd, fm, fs) * scale;
              if (cnt > 2) d2 = dotF16(pq, pk + 2 * kvStride, hd, fm, fs) * scale;
              if (cnt > 3) d3 = dotF16(pq, pk + 3 * kvStride, hd, fm, fs) * scale;
            } else {
              d0 = dotF32(pq, pk, hd) * scale;
              if (cnt > 1) d1 = dotF32(pq, pk + kvStride, hd) * scale;
              if (cnt > 2) d2 = dotF32(pq, pk + 2 * kvStride, hd) * scale;
              if (cnt > 3) d3 = dotF32(pq, pk + 3 * kvStride, hd) * scale;
            }
            const mc = max<f32>(max<f32>(d0, d1), max<f32>(d2, d3));
            let m = load<f32>(pm);
            let c: f32 = 1;
            if (mc > m) {
              c = expf1(m - mc); // 0 on the first chunk (m = -inf; l and acc are 0 anyway)
              m = mc;
            }
            let sv = f32x4.replace_lane(f32x4.splat(d0), 1, d1);
            sv = f32x4.replace_lane(sv, 2, d2);
            sv = f32x4.replace_lane(sv, 3, d3);
            let pv4 = exp4(f32x4.sub(sv, f32x4.splat(m)));
            // -inf lanes (past the run) weigh exactly 0 (exp4 clamps its input, so mask them).
            pv4 = v128.and(pv4, f32x4.gt(sv, f32x4.splat(-Infinity)));
            const p0 = f32x4.extract_lane(pv4, 0);
            const p1 = f32x4.extract_lane(pv4, 1);
            const p2 = f32x4.extract_lane(pv4, 2);
            const p3 = f32x4.extract_lane(pv4, 3);
            store<f32>(pm, m);
            store<f32>(pm, load<f32>(pm, 4) * c + (p0 + p1 + (p2 + p3)), 4);
            const cv = f32x4.splat(c);
            const q0 = f32x4.splat(p0), q1 = f32x4.splat(p1), q2 = f32x4.splat(p2), q3 = f32x4.splat(p3);
            const pv1 = pvr + (cnt > 1 ? kvStride : 0);
            const pv2 = pvr + (cnt > 2 ? 2 * kvStride : 0);
            const pv3 = pvr + (cnt > 3 ? 3 * kvStride : 0);
            let i = 0;
            if (half != 0) {
              for (; i < hd; i += 4) {
                const o = <usize>i << 2;
                const e = <usize>i << 1;
                let acc = f32x4.mul(v128.load(po + o), cv);
                acc = f32x4.add(acc, f32x4.mul(q0, f16x4(pvr + e, fm, fs)));
                acc = f32x4.add(acc, f32x4.mul(q1, f16x4(pv1 + e, fm, fs)));
                acc = f32x4.add(acc, f32x4.mul(q2, f16x4(pv2 + e, fm, fs)));
                acc = f32x4.add(acc, f32x4.mul(q3, f16x4(pv3 + e, fm, fs)));
                v128.store(po + o, acc);
              }
            } else {
              for (; i + 4 <= hd; i += 4) {
                const o = <usize>i << 2;
                let acc = f32x4.mul(v128.load(po + o), cv);
                acc = f32x4.add(acc, f32x4.mul(q0, v128.load(pvr + o)));
                acc = f32x4.add(acc, f32x4.mul(q1, v128.load(pv1 + o)));
                acc = f32x4.add(acc, f32x4.mul(q2, v128.load(pv2 + o)));
                acc = f32x4.add(acc, f32x4.mul(q3, v128.load(pv3 + o)));
                v128.store(po + o, acc);
              }
              for (; i < hd; i++) {
                const o = <usize>i << 2;
                store<f32>(po + o, load<f32>(po + o) * c + p0 * load<f32>(pvr + o) + p1 * load<f32>(pv1 + o) + p2 * load<f32>(pv2 + o) + p3 * load<f32>(pv3 + o));
              }
            }
          }
        }
        j += cnt;
        rowB += <usize>cnt * kvStride;
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

// Non-causal (bidirectional) attention over one dense block, for encoders (the vision ViT):
// q, k, v, out f32 [n][nHead][hd]; every query sees all n keys. It is the paged kernel above with
// one block holding the whole sequence (table = [0] at `zero`, an i32 0) and every token placed
// at or after the last key (pos0 = n - 1), so each row's window is 0 .. n - 1; the same 4-key
// SIMD online softmax, one unit per (token, head).
export function attention_full_f32(
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  n: i32,
  nHead: i32,
  hd: i32,
  scale: f32,
  ml: usize,
  zero: usize,
  u0: i32,
  u1: i32,
): void {
  attention_paged(q, k, v, out, n, n, nHead, nHead, hd, n - 1, scale, ml, zero, n, 0, 0, u0, u1);
}
