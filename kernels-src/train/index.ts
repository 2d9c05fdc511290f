// Training kernels (F32, row-major, no repacking), built to build/kernels/train.wasm with SIMD128
// and an imported shared memory so a worker thread can run the same kernels on the same buffers.
// All pointers are byte offsets into that memory; all matrices are dense row-major f32.
//
// The three products of a linear layer y = x W^T (x: N x I, W: O x I, y: N x O):
//   forward   y  = x W^T           mm_nt(y, x, W, N, I, O)            dot-product form
//   backward  dx += dy W           mm_nn(dx, dy, W, N, O, I, O, 1)    broadcast form
//             dW += dy^T x         mm_nn(dW, dy, x, O, N, I, 1, O)    broadcast form, A transposed
// Summation order depends only on the shapes, never on timing: results are deterministic.

import { hsum } from "../assembly/common";

/** Rows of B kept hot in L1 per pass of mm_nn (KB x 8 floats = 4 KiB). */
const KB: i32 = 128;

/** Scalar dot of n floats (tails). */
// @ts-ignore: decorator
@inline function dotTail(a: usize, b: usize, n: i32): f32 {
  let s: f32 = 0;
  for (let i = 0; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

/**
 * C (R x J) = A (R x K) * B^T with B (J x K), overwriting C (acc = 0) or adding to it (acc = 1).
 * Tile: 4 rows of A x 2 rows of B = 8 f32x4 accumulators over K; horizontal sums at the end.
 */
export function mm_nt(c: usize, a: usize, b: usize, R: i32, K: i32, J: i32, acc: i32): void {
  const ks = <usize>K << 2;
  const cs = <usize>J << 2;
  const K4 = K & ~3;
  let r = 0;
  for (; r + 4 <= R; r += 4) {
    const a0 = a + <usize>r * ks;
    const a1 = a0 + ks;
    const a2 = a1 + ks;
    const a3 = a2 + ks;
    let j = 0;
    for (; j + 2 <= J; j += 2) {
      const b0 = b + <usize>j * ks;
      const b1 = b0 + ks;
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
      let s20 = f32x4.splat(0), s21 = f32x4.splat(0), s30 = f32x4.splat(0), s31 = f32x4.splat(0);
      for (let k = 0; k < K4; k += 4) {
        const o = <usize>k << 2;
        const w0 = v128.load(b0 + o);
        const w1 = v128.load(b1 + o);
        let x = v128.load(a0 + o);
        s00 = f32x4.add(s00, f32x4.mul(x, w0));
        s01 = f32x4.add(s01, f32x4.mul(x, w1));
        x = v128.load(a1 + o);
        s10 = f32x4.add(s10, f32x4.mul(x, w0));
        s11 = f32x4.add(s11, f32x4.mul(x, w1));
        x = v128.load(a2 + o);
        s20 = f32x4.add(s20, f32x4.mul(x, w0));
        s21 = f32x4.add(s21, f32x4.mul(x, w1));
        x = v128.load(a3 + o);
        s30 = f32x4.add(s30, f32x4.mul(x, w0));
        s31 = f32x4.add(s31, f32x4.mul(x, w1));
      }
      const t = <usize>(K - K4);
      const o4 = <usize>K4 << 2;
      const c0 = c + <usize>r * cs + (<usize>j << 2);
      put(c0, hsum(s00) + dotTail(a0 + o4, b0 + o4, <i32>t), acc);
      put(c0 + 4, hsum(s01) + dotTail(a0 + o4, b1 + o4, <i32>t), acc);
      put(c0 + cs, hsum(s10) + dotTail(a1 + o4, b0 + o4, <i32>t), acc);
      put(c0 + cs + 4, hsum(s11) + dotTail(a1 + o4, b1 + o4, <i32>t), acc);
      put(c0 + 2 * cs, hsum(s20) + dotTail(a2 + o4, b0 + o4, <i32>t), acc);
      put(c0 + 2 * cs + 4, hsum(s21) + dotTail(a2 + o4, b1 + o4, <i32>t), acc);
      put(c0 + 3 * cs, hsum(s30) + dotTail(a3 + o4, b0 + o4, <i32>t), acc);
      put(c0 + 3 * cs + 4, hsum(s31) + dotTail(a3 + o4, b1 + o4, <i32>t), acc);
    }
    for (; j < J; j++) {
      for (let q = 0; q < 4; q++) put(c + <usize>(r + q) * cs + (<usize>j << 2), dot(a + <usize>(r + q) * ks, b + <usize>j * ks, K), acc);
    }
  }
  for (; r < R; r++) {
    for (let j = 0; j < J; j++) put(c + <usize>r * cs + (<usize>j << 2), dot(a + <usize>r * ks, b + <usize>j * ks, K), acc);
  }
}

// @ts-ignore: decorator
@inline function put(p: usize, v: f32, acc: i32): void {
  store<f32>(p, acc ? load<f32>(p) + v : v);
}

/** SIMD dot product of n floats (4 lanes, then a scalar tail). */
function dot(a: usize, b: usize, n: i32): f32 {
  let s = f32x4.splat(0);
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    s = f32x4.add(s, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  return hsum(s) + dotTail(a + (<usize>n4 << 2), b + (<usize>n4 << 2), n - n4);
}

/**
 * C (R x J) (+)= A (R x K) * B (K x J), B row-major; element A(r, k) lives at a + 4*(r*ars + k*acs)
 * so A may be stored transposed (ars = 1, acs = R). acc = 0 overwrites C.
 * Loops: K in blocks of KB (a KB x 8 panel of B stays in L1 while every row tile passes over it),
 * then 8-column chunks of B, then 4-row tiles of A: 8 f32x4 accumulators, each k step 2 panel loads
 * and 4 splats for 8 vector multiply-adds. Column tail: 4-wide then scalar; row tail: 1 row.
 */
export function mm_nn(c: usize, a: usize, b: usize, R: i32, K: i32, J: i32, ars: i32, acs: i32, acc: i32): void {
  const cs = <usize>J << 2;
  if (!acc) memory.fill(c, 0, <usize>R * cs);
  const rs = <usize>ars << 2;
  const ks = <usize>acs << 2;
  for (let k0 = 0; k0 < K; k0 += KB) {
    const k1 = min(K, k0 + KB);
    let j = 0;
    for (; j + 8 <= J; j += 8) {
      let r = 0;
      for (; r + 4 <= R; r += 4) {
        let pa = a + <usize>r * rs + <usize>k0 * ks;
        let pb = b + (<usize>k0 * J + <usize>j) * 4;
        let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
        let s20 = f32x4.splat(0), s21 = f32x4.splat(0), s30 = f32x4.splat(0), s31 = f32x4.splat(0);
        for (let k = k0; k < k1; k++) {
          const w0 = v128.load(pb);
          const w1 = v128.load(pb, 16);
          let x = v128.load32_splat(pa);
          s00 = f32x4.add(s00, f32x4.mul(x, w0));
          s01 = f32x4.add(s01, f32x4.mul(x, w1));
          x = v128.load32_splat(pa + rs);
          s10 = f32x4.add(s10, f32x4.mul(x, w0));
          s11 = f32x4.add(s11, f32x4.mul(x, w1));
          x = v128.load32_splat(pa + 2 * rs);
          s20 = f32x4.add(s20, f32x4.mul(x, w0));
          s21 = f32x4.add(s21, f32x4.mul(x, w1));
          x = v128.load32_splat(pa + 3 * rs);
          s30 = f32x4.add(s30, f32x4.mul(x, w0));
          s31 = f32x4.add(s31, f32x4.mul(x, w1));
          pa += ks;
          pb += cs;
        }
        const c0 = c + <usize>r * cs + (<usize>j << 2);
        addTo(c0, s00);
        addTo(c0 + 16, s01);
        addTo(c0 + cs, s10);
        addTo(c0 + cs + 16, s11);
        addTo(c0 + 2 * cs, s20);
        addTo(c0 + 2 * cs + 16, s21);
        addTo(c0 + 3 * cs, s30);
        addTo(c0 + 3 * cs + 16, s31);
      }
      for (; r < R; r++) {
        let pa = a + <usize>r * rs + <usize>k0 * ks;
        let pb = b + (<usize>k0 * J + <usize>j) * 4;
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
        for (let k = k0; k < k1; k++) {
          const x = v128.load32_splat(pa);
          s0 = f32x4.add(s0, f32x4.mul(x, v128.load(pb)));
          s1 = f32x4.add(s1, f32x4.mul(x, v128.load(pb, 16)));
          pa += ks;
          pb += cs;
        }
        const c0 = c + <usize>r * cs + (<usize>j << 2);
        addTo(c0, s0);
        addTo(c0 + 16, s1);
      }
    }
    for (; j + 4 <= J; j += 4) {
      for (let r = 0; r < R; r++) {
        let pa = a + <usize>r * rs + <usize>k0 * ks;
        let pb = b + (<usize>k0 * J + <usize>j) * 4;
        let s0 = f32x4.splat(0);
        for (let k = k0; k < k1; k++) {
          s0 = f32x4.add(s0, f32x4.mul(v128.load32_splat(pa), v128.load(pb)));
          pa += ks;
          pb += cs;
        }
        addTo(c + <usize>r * cs + (<usize>j << 2), s0);
      }
    }
    for (; j < J; j++) {
      for (let r = 0; r < R; r++) {
        let pa = a + <usize>r * rs + <usize>k0 * ks;
        let pb = b + (<usize>k0 * J + <usize>j) * 4;
        let s: f32 = 0;
        for (let k = k0; k < k1; k++) {
          s += load<f32>(pa) * load<f32>(pb);
          pa += ks;
          pb += cs;
        }
        const p = c + <usize>r * cs + (<usize>j << 2);
        store<f32>(p, load<f32>(p) + s);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function addTo(p: usize, v: v128): void {
  v128.store(p, f32x4.add(v128.load(p), v));
}

/** y[i] = a[i] + b[i] for n floats (gradient all-reduce). y may alias a. */
export function vadd(y: usize, a: usize, b: usize, n: i32): void {
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(a + o) + load<f32>(b + o));
  }
}
export { attn_fwd, attn_bwd } from "./attention";
