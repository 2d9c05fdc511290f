// Causal GQA attention over a PAGED KV cache, read in place, several query rows per pass (the
// multi-query form of the perf-forward branch's kernel; the contiguous attention_f32 in ops.ts is
// the same algorithm on one dense block).
//
// Layout: the cache of one layer is a pool of rows, K [nRows][nHeadKV][hd] and V likewise, f32
// or IEEE f16 (`half` = 1). Position j of the sequence lives in row
//   table[j / blockSize] * blockSize + j % blockSize
// (table: i32[nKV / blockSize rounded up]; a dense cache is table = [0], blockSize >= nKV).
// q, out: f32 [nTok][nHead][hd]; token t sits at position pos0 + t and sees positions
// max(0, pos0 + t - window + 1) .. min(nKV - 1, pos0 + t) (window 0 = unlimited).
//
// One work unit per (block of `tb` tokens, KV head): its query rows are the block's tokens x the
// KV head's G query heads. Positions go in chunks of 4 (inside a cache block's run of rows); each
// chunk's K/V rows are read (f16: widened to f32 into the unit's scratch) once and serve every
// query row of the unit, two rows at a time where both see the whole chunk (one load of each K/V
// vector feeds both rows' fused multiply-adds). Per query row the arithmetic and its order are
// exactly those of one row alone (flash-style online softmax: running max m and sum l per row in
// ml: f32[nTok*nHead][2], the accumulator in out's row; chunk starts, the masked lanes past a
// row's last position, the a/b split of the f32 dot), so a row's result does not depend on tb, on
// which rows share its unit, or on the thread count: a decode step, a prefill and a
// speculative-verify batch give the same bits for the same position.
import { f16x4, madd, kcF16Mask, kcF16Scale } from "./common";
import { dotF32, exp4, expf1 } from "./ops";

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

/** Second result of the two-row helpers (a wasm global: per instance, so per thread). */
let gB: v128 = f32x4.splat(0);
/** Rescale factor of the last softmaxUpdate. */
let gC: f32 = 1;

// @ts-ignore: decorator
@inline function pairSum(x0: v128, x1: v128): v128 {
  return f32x4.add(v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), v128.shuffle<f32>(x0, x1, 2, 6, 3, 7));
}
// @ts-ignore: decorator
@inline function pairFin(s01: v128, s23: v128): v128 {
  return f32x4.add(v128.shuffle<f32>(s01, s23, 0, 1, 4, 5), v128.shuffle<f32>(s01, s23, 2, 3, 6, 7));
}

/** dots4F32 for two query rows qa, qb against the same K rows (A's result returned, B's in gB):
 *  per row the same a/b split and reduce4 pairing, in two passes of two K rows (8 accumulators). */
function dots4F32x2(qa: usize, qb: usize, k0: usize, k1: usize, k2: usize, k3: usize, hd: i32): v128 {
  const end = <usize>hd << 2;
  let sA01 = f32x4.splat(0), sB01 = f32x4.splat(0);
  for (let pass = 0; pass < 2; pass++) {
    const kx = pass == 0 ? k0 : k2;
    const ky = pass == 0 ? k1 : k3;
    let aA0 = f32x4.splat(0), aA1 = f32x4.splat(0), bA0 = f32x4.splat(0), bA1 = f32x4.splat(0);
    let aB0 = f32x4.splat(0), aB1 = f32x4.splat(0), bB0 = f32x4.splat(0), bB1 = f32x4.splat(0);
    let o: usize = 0;
    for (; o + 32 <= end; o += 32) {
      const qa0 = v128.load(qa + o), qa1 = v128.load(qa + o, 16);
      const qb0 = v128.load(qb + o), qb1 = v128.load(qb + o, 16);
      let x = v128.load(kx + o);
      aA0 = madd(qa0, x, aA0);
      aB0 = madd(qb0, x, aB0);
      x = v128.load(kx + o, 16);
      bA0 = madd(qa1, x, bA0);
      bB0 = madd(qb1, x, bB0);
      x = v128.load(ky + o);
      aA1 = madd(qa0, x, aA1);
      aB1 = madd(qb0, x, aB1);
      x = v128.load(ky + o, 16);
      bA1 = madd(qa1, x, bA1);
      bB1 = madd(qb1, x, bB1);
    }
    if (o < end) {
      const qa0 = v128.load(qa + o), qb0 = v128.load(qb + o);
      let x = v128.load(kx + o);
      aA0 = madd(qa0, x, aA0);
      aB0 = madd(qb0, x, aB0);
      x = v128.load(ky + o);
      aA1 = madd(qa0, x, aA1);
      aB1 = madd(qb0, x, aB1);
    }
    const sA = pairSum(f32x4.add(aA0, bA0), f32x4.add(aA1, bA1));
    const sB = pairSum(f32x4.add(aB0, bB0), f32x4.add(aB1, bB1));
    if (pass == 0) {
      sA01 = sA;
      sB01 = sB;
    } else {
      gB = pairFin(sB01, sB);
      return pairFin(sA01, sA);
    }
  }
  return sA01; // not reached
}

/** q . k for four f32 K rows with ONE accumulator per row (the order of the f16 path, whose rows
 *  the unit has widened to f32 scratch: the widening is exact, so these are dots4F16's bits). */
// @ts-ignore: decorator
@inline function dots4One(q: usize, k0: usize, k1: usize, k2: usize, k3: usize, hd: i32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let o: usize = 0; o < (<usize>hd << 2); o += 16) {
    const qv = v128.load(q + o);
    a0 = madd(qv, v128.load(k0 + o), a0);
    a1 = madd(qv, v128.load(k1 + o), a1);
    a2 = madd(qv, v128.load(k2 + o), a2);
    a3 = madd(qv, v128.load(k3 + o), a3);
  }
  return reduce4(a0, a1, a2, a3);
}

/** dots4One for two query rows (A returned, B in gB): 8 accumulators, each K vector loaded once. */
function dots4Onex2(qa: usize, qb: usize, k0: usize, k1: usize, k2: usize, k3: usize, hd: i32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  for (let o: usize = 0; o < (<usize>hd << 2); o += 16) {
    const qv = v128.load(qa + o), qw = v128.load(qb + o);
    let x = v128.load(k0 + o);
    a0 = madd(qv, x, a0);
    b0 = madd(qw, x, b0);
    x = v128.load(k1 + o);
    a1 = madd(qv, x, a1);
    b1 = madd(qw, x, b1);
    x = v128.load(k2 + o);
    a2 = madd(qv, x, a2);
    b2 = madd(qw, x, b2);
    x = v128.load(k3 + o);
    a3 = madd(qv, x, a3);
    b3 = madd(qw, x, b3);
  }
  gB = reduce4(b0, b1, b2, b3);
  return reduce4(a0, a1, a2, a3);
}

/**
 * One chunk's online-softmax step of one query row: raw scores sv (lanes not in `live`: past the
 * row's last position) -> scaled, masked to -inf; running max/sum at pm updated. Returns the
 * chunk's weights e^(s - m) (masked lanes exactly 0); the accumulator's rescale factor in gC.
 */
// @ts-ignore: decorator
@inline function softmaxUpdate(sv0: v128, live: v128, scale: f32, pm: usize): v128 {
  const sv = v128.bitselect(f32x4.mul(sv0, f32x4.splat(scale)), f32x4.splat(-Infinity), live);
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
  gC = c;
  return pv4;
}

/** acc (hd f32 at po) = acc * c + p0 V0 + p1 V1 + p2 V2 + p3 V3 in that order (V rows f32). */
function vAcc1(po: usize, pv4: v128, c: f32, v0: usize, v1: usize, v2: usize, v3: usize, hd: i32): void {
  const q0 = v128.shuffle<f32>(pv4, pv4, 0, 0, 0, 0), q1 = v128.shuffle<f32>(pv4, pv4, 1, 1, 1, 1);
  const q2 = v128.shuffle<f32>(pv4, pv4, 2, 2, 2, 2), q3 = v128.shuffle<f32>(pv4, pv4, 3, 3, 3, 3);
  const rescale = c != 1;
  const cv = f32x4.splat(c);
  for (let o: usize = 0; o < (<usize>hd << 2); o += 16) {
    let acc = v128.load(po + o);
    if (rescale) acc = f32x4.mul(acc, cv);
    acc = madd(q0, v128.load(v0 + o), acc);
    acc = madd(q1, v128.load(v1 + o), acc);
    acc = madd(q2, v128.load(v2 + o), acc);
    acc = madd(q3, v128.load(v3 + o), acc);
    v128.store(po + o, acc);
  }
}

/** vAcc1 for two rows (accumulators at pa, pb) over the same V rows: each V vector loaded once. */
function vAcc2(pa: usize, pb: usize, wa: v128, wb: v128, ca: f32, cb: f32, v0: usize, v1: usize, v2: usize, v3: usize, hd: i32): void {
  const a0 = v128.shuffle<f32>(wa, wa, 0, 0, 0, 0), a1 = v128.shuffle<f32>(wa, wa, 1, 1, 1, 1);
  const a2 = v128.shuffle<f32>(wa, wa, 2, 2, 2, 2), a3 = v128.shuffle<f32>(wa, wa, 3, 3, 3, 3);
  const b0 = v128.shuffle<f32>(wb, wb, 0, 0, 0, 0), b1 = v128.shuffle<f32>(wb, wb, 1, 1, 1, 1);
  const b2 = v128.shuffle<f32>(wb, wb, 2, 2, 2, 2), b3 = v128.shuffle<f32>(wb, wb, 3, 3, 3, 3);
  const ra = ca != 1, rb = cb != 1;
  const cva = f32x4.splat(ca), cvb = f32x4.splat(cb);
  for (let o: usize = 0; o < (<usize>hd << 2); o += 16) {
    let x = v128.load(pa + o);
    let y = v128.load(pb + o);
    if (ra) x = f32x4.mul(x, cva);
    if (rb) y = f32x4.mul(y, cvb);
    let w = v128.load(v0 + o);
    x = madd(a0, w, x);
    y = madd(b0, w, y);
    w = v128.load(v1 + o);
    x = madd(a1, w, x);
    y = madd(b1, w, y);
    w = v128.load(v2 + o);
    x = madd(a2, w, x);
    y = madd(b2, w, y);
    w = v128.load(v3 + o);
    x = madd(a3, w, x);
    y = madd(b3, w, y);
    v128.store(pa + o, x);
    v128.store(pb + o, y);
  }
}

/** One chunk for one query row when hd is not a multiple of 4 (f32 rows only): scalar tails. */
function slowRow(pq: usize, po: usize, pm: usize, pk: usize, pvr: usize, cnt: i32, kvStride: usize, hd: i32, scale: f32): void {
  let d0: f32 = -Infinity, d1: f32 = -Infinity, d2: f32 = -Infinity, d3: f32 = -Infinity;
  d0 = dotF32(pq, pk, hd) * scale;
  if (cnt > 1) d1 = dotF32(pq, pk + kvStride, hd) * scale;
  if (cnt > 2) d2 = dotF32(pq, pk + 2 * kvStride, hd) * scale;
  if (cnt > 3) d3 = dotF32(pq, pk + 3 * kvStride, hd) * scale;
  const mc = max<f32>(max<f32>(d0, d1), max<f32>(d2, d3));
  let m = load<f32>(pm);
  let c: f32 = 1;
  if (mc > m) {
    c = expf1(m - mc);
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

/** Scratch bytes per call of attention_paged (f16 rows widened: 4 K + 4 V rows of hd f32). */
// @ts-ignore: decorator
@inline function scratchBytes(hd: i32): usize {
  return <usize>hd << 5;
}

// The multi-query unit geometry of both paged kernels (this file's and attention_q.ts's).

/** First token of unit u = block * nHeadKV + kh: blocks of tb tokens taken from both ends (0,
 *  last, 1, last - 1, ...) so contiguous unit ranges get equal shares of the causal triangle. */
// @ts-ignore: decorator
@inline export function unitFirstToken(u: i32, nHeadKV: i32, nTok: i32, tb: i32): i32 {
  const nB = (nTok + tb - 1) / tb;
  const bi = u / nHeadKV;
  return ((bi & 1) == 0 ? bi >> 1 : nB - 1 - (bi >> 1)) * tb;
}

/** First position token t (at pos0 + t) sees: the start of its sliding window (0 = unlimited). */
// @ts-ignore: decorator
@inline export function firstVisible(t: i32, pos0: i32, window: i32): i32 {
  return window > 0 ? max<i32>(0, pos0 + t - window + 1) : 0;
}

/** End of the pass over a unit's tokens tA..tB-1 that starts at token t: tB when all of them see
 *  the same first position, else t + 1 (token by token: each row's chunks start at its own first
 *  position, as alone). */
// @ts-ignore: decorator
@inline export function passEnd(t: i32, tA: i32, tB: i32, pos0: i32, window: i32): i32 {
  return firstVisible(tA, pos0, window) == firstVisible(tB - 1, pos0, window) ? tB : t + 1;
}

/** Tokens tA..tB-1 x KV head kh's G query heads: accumulators (out rows, hdb bytes) zeroed and
 *  online softmax started (ml: m = -inf, l = 0). */
// @ts-ignore: decorator
@inline export function startRows(out: usize, ml: usize, tA: i32, tB: i32, nHead: i32, G: i32, kh: i32, hdb: usize): void {
  for (let t = tA; t < tB; t++) {
    const h0 = t * nHead + kh * G;
    memory.fill(out + <usize>h0 * hdb, 0, <usize>G * hdb);
    for (let g = 0; g < G; g++) {
      store<f32>(ml + (<usize>(h0 + g) << 3), -Infinity);
      store<f32>(ml + (<usize>(h0 + g) << 3), 0, 4);
    }
  }
}

/** The same rows' accumulators divided by their softmax sums l (reciprocal times, scalar tail
 *  divided). */
// @ts-ignore: decorator
@inline export function finishRows(out: usize, ml: usize, tA: i32, tB: i32, nHead: i32, G: i32, kh: i32, hd: i32): void {
  for (let t = tA; t < tB; t++) {
    for (let g = 0; g < G; g++) {
      const h = t * nHead + kh * G + g;
      const po = out + (<usize>h * <usize>hd << 2);
      const l = load<f32>(ml + (<usize>h << 3), 4);
      const il = f32x4.splat(<f32>1 / l);
      let i = 0;
      for (; i + 4 <= hd; i += 4) v128.store(po + (<usize>i << 2), f32x4.mul(v128.load(po + (<usize>i << 2)), il));
      for (; i < hd; i++) store<f32>(po + (<usize>i << 2), load<f32>(po + (<usize>i << 2)) / l);
    }
  }
}

/** Cache row of position j (table: i32 block ids, blocks of blockSize rows). */
// @ts-ignore: decorator
@inline export function rowOf(j: i32, table: usize, blockSize: i32): usize {
  const blk = j / blockSize;
  return <usize>load<i32>(table + (<usize>blk << 2)) * <usize>blockSize + <usize>(j - blk * blockSize);
}

/** Last position of the run of contiguous rows from j (to the end of j's cache block), at most
 *  lastMax. */
// @ts-ignore: decorator
@inline export function runLast(j: i32, lastMax: i32, blockSize: i32): i32 {
  return min<i32>(lastMax, j + (blockSize - (j - (j / blockSize) * blockSize)) - 1);
}

/**
 * Tokens tA..tB-1 (all with the same first visible position) x KV head kh's G query heads,
 * against positions first .. min(nKV - 1, pos0 + tB - 1). scr: this call's scratch (f16 only).
 */
function attendBlock(
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
  half: i32,
  first: i32,
  tA: i32,
  tB: i32,
  kh: i32,
  kvStride: usize,
  headB: usize,
  scr: usize,
): void {
  const hdb = <usize>hd << 2; // bytes per q/out head
  startRows(out, ml, tA, tB, nHead, G, kh, hdb);
  const lastMax = min<i32>(nKV - 1, pos0 + tB - 1);
  const fast = (hd & 3) == 0;
  let j = first;
  while (j <= lastMax) {
    // One cache block's run of positions: rows are contiguous inside a block.
    const runEnd = runLast(j, lastMax, blockSize);
    let rowB = rowOf(j, table, blockSize) * kvStride;
    while (j <= runEnd) {
      const cntMax = min<i32>(4, runEnd - j + 1);
      const pk = k + rowB + <usize>kh * headB;
      const pvr = v + rowB + <usize>kh * headB;
      // The chunk's K and V rows as the dot loops read them: in place (f32) or widened to f32 in
      // the scratch once for every row of the unit (f16).
      let kB = pk, vB = pvr, rs = kvStride;
      if (half != 0) {
        for (let r = 0; r < cntMax; r++) {
          const sk = pk + <usize>r * kvStride, sv = pvr + <usize>r * kvStride;
          const dk = scr + <usize>r * hdb, dv = scr + <usize>(4 + r) * hdb;
          for (let i: usize = 0; i < <usize>hd; i += 4) {
            v128.store(dk + (i << 2), f16x4(sk + (i << 1), kcF16Mask(), kcF16Scale()));
            v128.store(dv + (i << 2), f16x4(sv + (i << 1), kcF16Mask(), kcF16Scale()));
          }
        }
        kB = scr;
        vB = scr + (hdb << 2);
        rs = hdb;
      }
      // Rows of the tokens that see position j (t >= j - pos0), in order (t, g); a row sees
      // cnt = min(cntMax, last_t - j + 1) positions of the chunk (the same for a token's G rows).
      const tS = max<i32>(tA, j - pos0);
      const nR = (tB - tS) * G;
      let r = 0;
      while (r < nR) {
        const ta = tS + r / G;
        const ha = ta * nHead + kh * G + (r - (ta - tS) * G);
        const cnt = min<i32>(cntMax, min<i32>(nKV - 1, pos0 + ta) - j + 1);
        const pqa = q + <usize>ha * hdb;
        const poa = out + <usize>ha * hdb;
        const pma = ml + (<usize>ha << 3);
        if (!fast) {
          slowRow(pqa, poa, pma, pk, pvr, cnt, kvStride, hd, scale);
          r++;
          continue;
        }
        // Lanes past the row's cnt read the chunk's row 0 again; their scores are masked to
        // -inf and their weights are exactly 0.
        const k1 = kB + (cnt > 1 ? rs : 0), k2 = kB + (cnt > 2 ? 2 * rs : 0), k3 = kB + (cnt > 3 ? 3 * rs : 0);
        const v1 = vB + (cnt > 1 ? rs : 0), v2 = vB + (cnt > 2 ? 2 * rs : 0), v3 = vB + (cnt > 3 ? 3 * rs : 0);
        const live = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(cnt));
        let pair = false;
        let hb = 0;
        if (r + 1 < nR) {
          const tb2 = tS + (r + 1) / G;
          hb = tb2 * nHead + kh * G + (r + 1 - (tb2 - tS) * G);
          pair = tb2 == ta || min<i32>(cntMax, min<i32>(nKV - 1, pos0 + tb2) - j + 1) == cnt;
        }
        if (pair) {
          const pqb = q + <usize>hb * hdb;
          const sa = half != 0 ? dots4Onex2(pqa, pqb, kB, k1, k2, k3, hd) : dots4F32x2(pqa, pqb, kB, k1, k2, k3, hd);
          const sb = gB;
          const wa = softmaxUpdate(sa, live, scale, pma);
          const ca = gC;
          const wb = softmaxUpdate(sb, live, scale, ml + (<usize>hb << 3));
          vAcc2(poa, out + <usize>hb * hdb, wa, wb, ca, gC, vB, v1, v2, v3, hd);
          r += 2;
        } else {
          const sa = half != 0 ? dots4One(pqa, kB, k1, k2, k3, hd) : dots4F32(pqa, kB, k1, k2, k3, hd);
          const wa = softmaxUpdate(sa, live, scale, pma);
          vAcc1(poa, wa, gC, vB, v1, v2, v3, hd);
          r++;
        }
      }
      j += cntMax;
      rowB += <usize>cntMax * kvStride;
    }
  }
  finishRows(out, ml, tA, tB, nHead, G, kh, hd);
}

/**
 * Units u0..u1-1 of ceil(nTok / tb) * nHeadKV: unit u = block * nHeadKV + kh (unitFirstToken,
 * passEnd). scr: scratch of scratchBytes(hd) per unit (read only for f16; one slice per call,
 * indexed by u0).
 */
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
  tb: i32,
  scr: usize,
  u0: i32,
  u1: i32,
): void {
  const G = nHead / nHeadKV;
  const el: usize = half != 0 ? 2 : 4;
  const kvStride = <usize>nHeadKV * <usize>hd * el; // bytes per cache row
  const headB = <usize>hd * el; // bytes per KV head in a row
  const s = scr + <usize>u0 * scratchBytes(hd);
  for (let u = u0; u < u1; u++) {
    const kh = u % nHeadKV;
    const tA = unitFirstToken(u, nHeadKV, nTok, tb);
    const tB = min<i32>(nTok, tA + tb);
    for (let t = tA; t < tB; ) {
      const e = passEnd(t, tA, tB, pos0, window);
      attendBlock(q, k, v, out, nKV, nHead, G, hd, pos0, scale, ml, table, blockSize, half, firstVisible(t, pos0, window), t, e, kh, kvStride, headB, s);
      t = e;
    }
  }
}

// Non-causal (bidirectional) attention over one dense block, for encoders (the vision ViT):
// q, k, v, out f32 [n][nHead][hd]; every query sees all n keys. It is the paged kernel above with
// one block holding the whole sequence (table = [0] at `zero`, an i32 0) and every token placed
// at or after the last key (pos0 = n - 1), so each row's window is 0 .. n - 1; the same 4-key
// SIMD online softmax, one unit per (token, head) (tb = 1).
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
  attention_paged(q, k, v, out, n, n, nHead, nHead, hd, n - 1, scale, ml, zero, n, 0, 0, 1, 0, u0, u1);
}
