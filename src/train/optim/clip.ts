/** Global-norm gradient clipping: scales all grads by maxNorm/||g|| when ||g|| > maxNorm. Returns ||g|| before clipping. */
import type { Buf } from "../ops/buf.js";

export function clipGradNorm(grads: Buf, maxNorm: number): number {
  let ss = 0;
  for (let i = 0; i < grads.length; i++) ss += grads[i] * grads[i];
  const norm = Math.sqrt(ss);
  if (maxNorm > 0 && norm > maxNorm) {
    const k = maxNorm / (norm + 1e-6);
    for (let i = 0; i < grads.length; i++) grads[i] *= k;
  }
  return norm;
}
