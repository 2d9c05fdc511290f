/** Token embedding lookup: x[n, :] = wte[tokens[n], :]. wte: (V, C) (GGUF token_embd [C, V]). */
import type { Buf } from "./buf.js";

export function embeddingForward(x: Buf, tokens: Int32Array, wte: Buf, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const src = tokens[n] * C;
    x.set(wte.subarray(src, src + C), n * C);
  }
}

/** Accumulates dwte[tokens[n], :] += dx[n, :]. */
export function embeddingBackward(dwte: Buf, dx: Buf, tokens: Int32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const dst = tokens[n] * C;
    const src = n * C;
    for (let i = 0; i < C; i++) dwte[dst + i] += dx[src + i];
  }
}
