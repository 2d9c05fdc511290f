// Q6_K weights, repacked 4 rows per group (see src/kernels/wasm/repack.ts): per group and
// 256-column super-block, 840 bytes:
//   [0,8) d[4] fp16 | [8,72) scale[j][row] i8 (j = 16-column sub-block)
//   then 4 x 192 B, one per 64 columns (halves A = cols 0..31, B = cols 32..63 of that span):
//     ql 128 B: chunk m holds the low 4 bits of A cols 4m..4m+3 (low nibbles) and of B (high),
//               row-interleaved pairs as in q8_0.ts;
//     qh 64 B: chunk n holds the top 2 bits: bits 0-1 A and 2-3 B of ql chunk 2n, bits 4-5 A
//               and 6-7 B of ql chunk 2n+1.
// Quants are used unsigned (0..63); the -32 offset is applied per sub-block as -32*xsum.
import { f16Mask, f16Scale, f16x4, i8x4, opaque, storeRows } from "./common";

// @ts-ignore: decorator
@inline function dot8(v: v128, x: usize): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(v), v128.load32_splat(x)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(v), v128.load32_splat(x, 4)),
  );
}

export function matvec_q6_k(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, g0: i32, g1: i32): void {
  const m4 = i8x16.splat(<i8>opaque(0x0f, rows));
  const m3 = i8x16.splat(<i8>opaque(0x03, rows));
  const mC = i8x16.splat(<i8>opaque(0x0c, rows));
  const m30 = i8x16.splat(<i8>opaque(0x30, rows));
  const fm = f16Mask(rows), fs = f16Scale(rows);
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * <usize>nsb * 840;
    let acc = f32x4.splat(0);
    for (let b = 0; b < nsb; b++) {
      const xb = xq + (<usize>b << 9);
      const ps = xs + (<usize>b << 6);
      let sumi = i32x4.splat(0);
      for (let gg: usize = 0; gg < 4; gg++) {
        const ql = p + 72 + gg * 192;
        const x = xb + (gg << 7);
        for (let hf: usize = 0; hf < 2; hf++) {
          // half hf: ql chunks 4hf..4hf+3, qh chunks 2hf, 2hf+1; columns 16hf..16hf+15 of A and B
          const q = ql + (hf << 6);
          const qh = ql + 128 + (hf << 5);
          const xa = x + (hf << 5);
          let h = v128.load(qh);
          let v0 = v128.load(q);
          let v1 = v128.load(q, 16);
          let a = dot8(v128.or(v128.and(v0, m4), i8x16.shl(v128.and(h, m3), 4)), xa);
          let c = dot8(v128.or(i8x16.shr_u(v0, 4), i8x16.shl(v128.and(h, mC), 2)), xa + 64);
          a = i32x4.add(a, dot8(v128.or(v128.and(v1, m4), v128.and(h, m30)), xa + 8));
          c = i32x4.add(c, dot8(v128.or(i8x16.shr_u(v1, 4), v128.and(i8x16.shr_u(h, 2), m30)), xa + 72));
          h = v128.load(qh, 16);
          v0 = v128.load(q, 32);
          v1 = v128.load(q, 48);
          a = i32x4.add(a, dot8(v128.or(v128.and(v0, m4), i8x16.shl(v128.and(h, m3), 4)), xa + 16));
          c = i32x4.add(c, dot8(v128.or(i8x16.shr_u(v0, 4), i8x16.shl(v128.and(h, mC), 2)), xa + 80));
          a = i32x4.add(a, dot8(v128.or(v128.and(v1, m4), v128.and(h, m30)), xa + 24));
          c = i32x4.add(c, dot8(v128.or(i8x16.shr_u(v1, 4), v128.and(i8x16.shr_u(h, 2), m30)), xa + 88));
          // sub-blocks: A half hf -> j = 4gg+hf, B half hf -> j = 4gg+2+hf
          const ja = (gg << 2) + hf;
          const jb = ja + 2;
          a = i32x4.sub(a, i32x4.splat(load<i32>(ps + (ja << 2)) << 5));
          c = i32x4.sub(c, i32x4.splat(load<i32>(ps + (jb << 2)) << 5));
          sumi = i32x4.add(sumi, i32x4.mul(a, i8x4(p + 8 + (ja << 2))));
          sumi = i32x4.add(sumi, i32x4.mul(c, i8x4(p + 8 + (jb << 2))));
        }
      }
      const dx = v128.load32_splat(xd + (<usize>b << 2));
      acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(sumi), f32x4.mul(f16x4(p, fm, fs), dx)));
      p += 840;
    }
    storeRows(y, g, rows, acc);
  }
}

export function matmul_q6_k(w: usize, xq: usize, xd: usize, xs: usize, y: usize, rows: i32, nsb: i32, nTok: i32, g0: i32, g1: i32): void {
  for (let g = g0; g < g1; g++) {
    for (let t = 0; t < nTok; t++) {
      const tt = <usize>t * <usize>nsb;
      matvec_q6_k(w, xq + (tt << 9), xd + (tt << 2), xs + (tt << 6), y + ((<usize>t * <usize>rows) << 2), rows, nsb, g, g + 1);
    }
  }
}
