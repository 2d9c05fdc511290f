/** Bias of a linear layer: y (N, O) += b (O); its gradient db (O) += column sums of dy. */
import type { Buf } from "./buf.js";

export function biasForward(y: Buf, b: Buf, N: number, O: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * O;
    for (let i = 0; i < O; i++) y[o + i] += b[i];
  }
}

export function biasBackward(db: Buf, dy: Buf, N: number, O: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * O;
    for (let i = 0; i < O; i++) db[i] += dy[o + i];
  }
}
