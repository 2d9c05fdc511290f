/**
 * Rotary position embedding in llama.cpp's NORM mode (the `llama` architecture's rope type):
 * adjacent pairs (x[2i], x[2i+1]) of each head rotate by angle pos * base^(-2i/headDim).
 * Training in this convention means the exported attn_q/attn_k need no HF->GGUF permutation.
 *
 * x: (B*T, nHeads*headDim), row b*T+t has position t (each sequence starts at 0).
 * The tables are cos/sin (T, headDim/2).
 */
import type { Buf } from "./buf.js";

export interface RopeTable {
  cos: Float64Array;
  sin: Float64Array;
  T: number;
  half: number;
}

export function ropeTable(T: number, headDim: number, base: number): RopeTable {
  const half = headDim / 2;
  const cos = new Float64Array(T * half);
  const sin = new Float64Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = t * Math.pow(base, (-2 * i) / headDim);
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  }
  return { cos, sin, T, half };
}

/** In place allowed (y === x). */
export function ropeForward(y: Buf, x: Buf, tab: RopeTable, B: number, T: number, nHeads: number): void {
  const hd = tab.half * 2;
  const W = nHeads * hd;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * W;
      const tc = t * tab.half;
      for (let h = 0; h < nHeads; h++) {
        const o = row + h * hd;
        for (let i = 0; i < tab.half; i++) {
          const c = tab.cos[tc + i];
          const s = tab.sin[tc + i];
          const x0 = x[o + 2 * i];
          const x1 = x[o + 2 * i + 1];
          y[o + 2 * i] = x0 * c - x1 * s;
          y[o + 2 * i + 1] = x0 * s + x1 * c;
        }
      }
    }
  }
}

/** The inverse rotation (transpose), accumulated into dx. */
export function ropeBackward(dx: Buf, dy: Buf, tab: RopeTable, B: number, T: number, nHeads: number): void {
  const hd = tab.half * 2;
  const W = nHeads * hd;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * W;
      const tc = t * tab.half;
      for (let h = 0; h < nHeads; h++) {
        const o = row + h * hd;
        for (let i = 0; i < tab.half; i++) {
          const c = tab.cos[tc + i];
          const s = tab.sin[tc + i];
          const d0 = dy[o + 2 * i];
          const d1 = dy[o + 2 * i + 1];
          dx[o + 2 * i] += d0 * c + d1 * s;
          dx[o + 2 * i + 1] += -d0 * s + d1 * c;
        }
      }
    }
  }
}
