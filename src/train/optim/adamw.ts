/**
 * AdamW (Loshchilov & Hutter): Adam moments with bias correction, and weight decay applied
 * directly to the weights (decoupled), only on the ranges marked `decay` (matrices, not norms).
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr * ( m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps) + wd * p )
 */
import type { Buf } from "../ops/buf.js";

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

export interface DecayRange {
  offset: number;
  size: number;
  decay: boolean;
}

export class AdamW {
  /** number of updates applied so far (the bias-correction t) */
  t = 0;
  readonly m: Float32Array;
  readonly v: Float32Array;

  constructor(
    readonly n: number,
    readonly cfg: AdamWConfig,
    readonly ranges: readonly DecayRange[],
  ) {
    this.m = new Float32Array(n);
    this.v = new Float32Array(n);
  }

  step(params: Buf, grads: Buf, lr: number): void {
    this.t++;
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.cfg;
    const c1 = 1 / (1 - Math.pow(b1, this.t));
    const c2 = 1 / (1 - Math.pow(b2, this.t));
    const m = this.m;
    const v = this.v;
    for (const r of this.ranges) {
      const wd = r.decay ? weightDecay : 0;
      for (let i = r.offset, end = r.offset + r.size; i < end; i++) {
        const g = grads[i];
        const mi = (m[i] = b1 * m[i] + (1 - b1) * g);
        const vi = (v[i] = b2 * v[i] + (1 - b2) * g * g);
        params[i] -= lr * ((mi * c1) / (Math.sqrt(vi * c2) + eps) + wd * params[i]);
      }
    }
  }
}
