// F32 weights, repacked into 4-row panels (see src/kernels/wasm/repack.ts): per group of 4 rows,
// column-major: for each column c, the 4 rows' values (16 B). Rows past `rows` are zero.
// x: f32[cols]; y: f32[rows]. Any cols (no block constraint).
import { storeRows, madd, storeTok4 } from "./common";

/** One group-row of matvec_f32 for one token (p: the group's [cols][4] weights, px: the token):
 *  four accumulators over columns c % 4, summed pairwise. Also LoRA's f32 delta (lora.ts). */
// @ts-ignore: decorator
@inline export function dotF32x4(p: usize, px: usize, cols: i32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    a0 = madd(v128.load(p, 0), v128.load32_splat(px, 0), a0);
    a1 = madd(v128.load(p, 16), v128.load32_splat(px, 4), a1);
    a2 = madd(v128.load(p, 32), v128.load32_splat(px, 8), a2);
    a3 = madd(v128.load(p, 48), v128.load32_splat(px, 12), a3);
    p += 64;
    px += 16;
  }
  for (; c < cols; c++) {
    a0 = madd(v128.load(p), v128.load32_splat(px), a0);
    p += 16;
    px += 4;
  }
  return f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
}

export function matvec_f32(w: usize, x: usize, y: usize, rows: i32, cols: i32, g0: i32, g1: i32): void {
  const gs = <usize>cols << 4;
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * gs;
    storeRows(y, g, rows, dotF32x4(p, x, cols));
  }
}

/** One token, groups g0..g1-1, one sequential accumulator per row: the exact summation order of
 *  the matmul micro-kernel, so matmul results do not depend on how groups/tokens are split. */
function matvec1_f32(w: usize, x: usize, y: usize, rows: i32, cols: i32, g0: i32, g1: i32): void {
  const gs = <usize>cols << 4;
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * gs;
    let px = x;
    let a = f32x4.splat(0);
    for (let c = 0; c < cols; c++) {
      a = madd(v128.load(p), v128.load32_splat(px), a);
      p += 16;
      px += 4;
    }
    storeRows(y, g, rows, a);
  }
}

/** Y[t][r] = sum_c W[r][c] X[t][c]. Micro-kernel: 2 groups (8 rows) x 4 tokens = 8 accumulators,
 *  each step 2 weight loads + 4 splats for 16 multiply-adds; odd group / tail tokens fall back. */
export function matmul_f32(w: usize, x: usize, y: usize, rows: i32, cols: i32, nTok: i32, g0: i32, g1: i32): void {
  const gs = <usize>cols << 4;
  const xs = <usize>cols << 2;
  const ys = <usize>rows << 2;
  let g = g0;
  for (; g + 2 <= g1; g += 2) {
    let t = 0;
    for (; t + 4 <= nTok; t += 4) {
      let p = w + <usize>g * gs;
      let x0 = x + <usize>t * xs;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
      for (let c = 0; c < cols; c++) {
        const wa = v128.load(p);
        const wb = v128.load(p + gs);
        let s = v128.load32_splat(x0);
        a0 = madd(wa, s, a0);
        b0 = madd(wb, s, b0);
        s = v128.load32_splat(x0 + xs);
        a1 = madd(wa, s, a1);
        b1 = madd(wb, s, b1);
        s = v128.load32_splat(x0 + 2 * xs);
        a2 = madd(wa, s, a2);
        b2 = madd(wb, s, b2);
        s = v128.load32_splat(x0 + 3 * xs);
        a3 = madd(wa, s, a3);
        b3 = madd(wb, s, b3);
        p += 16;
        x0 += 4;
      }
      const yo = y + <usize>t * ys;
      storeTok4(yo, ys, g, rows, a0, a1, a2, a3);
      storeTok4(yo, ys, g + 1, rows, b0, b1, b2, b3);
    }
    for (; t < nTok; t++) matvec1_f32(w, x + <usize>t * xs, y + <usize>t * ys, rows, cols, g, g + 2);
  }
  if (g < g1) {
    for (let t = 0; t < nTok; t++) matvec1_f32(w, x + <usize>t * xs, y + <usize>t * ys, rows, cols, g, g1);
  }
}
