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
import { f16Mask, f16Scale, f16x4 } from "./common";
import { expf1 } from "./ops";

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
      // One block's run of positions: rows are contiguous inside a block.
      const blk = j / blockSize;
      const inBlk = j - blk * blockSize;
      const runEnd = min<i32>(last, j + (blockSize - inBlk) - 1);
      let rowB = (<usize>load<i32>(table + (<usize>blk << 2)) * <usize>blockSize + <usize>inBlk) * kvStride;
      for (; j <= runEnd; j++) {
        for (let kh = khA; kh < khB; kh++) {
          const pk = k + rowB + <usize>kh * headB;
          const pvr = v + rowB + <usize>kh * headB;
          for (let g = (kh - khA) * G; g < (kh - khA + 1) * G; g++) {
            const pq = q + <usize>(hA + g) * hdb;
            const po = out + <usize>(hA + g) * hdb;
            const pm = pml + (<usize>g << 3);
            const s = (half != 0 ? dotF16(pq, pk, hd, fm, fs) : dotF32(pq, pk, hd)) * scale;
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
            const cv = f32x4.splat(c);
            let i = 0;
            if (half != 0) {
              for (; i < hd; i += 4) {
                const o = <usize>i << 2;
                v128.store(po + o, f32x4.add(f32x4.mul(v128.load(po + o), cv), f32x4.mul(pv, f16x4(pvr + (<usize>i << 1), fm, fs))));
              }
            } else {
              for (; i + 4 <= hd; i += 4) {
                const o = <usize>i << 2;
                v128.store(po + o, f32x4.add(f32x4.mul(v128.load(po + o), cv), f32x4.mul(pv, v128.load(pvr + o))));
              }
              for (; i < hd; i++) store<f32>(po + (<usize>i << 2), load<f32>(po + (<usize>i << 2)) * c + p * load<f32>(pvr + (<usize>i << 2)));
            }
          }
        }
        rowB += kvStride;
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
