/**
 * Softmax cross-entropy over logits (N, V) with a per-position loss mask (SFT: only assistant
 * tokens count). Fused forward+backward as in llm.c: the gradient of
 *   loss = sum_{n: mask[n]} -log softmax(logits[n])[targets[n]] / denom
 * is written to dlogits (may alias logits) when given. `denom` is the number of masked positions
 * of the whole optimisation step (so data-parallel shards can share one normaliser).
 * Returns the unnormalised loss sum over masked positions.
 */
import { InputError } from "../../errors.js";
import type { Buf } from "./buf.js";

export function crossEntropy(
  logits: Buf,
  targets: Int32Array,
  mask: Uint8Array,
  N: number,
  V: number,
  denom: number,
  dlogits: Buf | null,
): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    const o = n * V;
    const tgt = targets[n];
    if (!mask[n]) {
      if (dlogits) dlogits.fill(0, o, o + V);
      continue;
    }
    if (tgt < 0 || tgt >= V)
      throw new InputError(`target ${tgt} out of vocabulary range [0, ${V})`, { field: `targets[${n}]` });
    let mx = -Infinity;
    for (let i = 0; i < V; i++) if (logits[o + i] > mx) mx = logits[o + i];
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[o + i] - mx);
    const lse = mx + Math.log(sum);
    total += lse - logits[o + tgt];
    if (dlogits) {
      const k = 1 / denom;
      for (let i = 0; i < V; i++) dlogits[o + i] = Math.exp(logits[o + i] - lse) * k;
      dlogits[o + tgt] -= k;
    }
  }
  return total;
}

/**
 * Per-position weighted negative log-likelihood: loss = sum_n w[n] * -log softmax(logits[n])[t[n]],
 * gradient w[n] * (softmax - onehot) into dlogits. Positions with w[n] = 0 are skipped (dlogits
 * zero). Weights may be negative: this is the policy-gradient form, where w[n] = dJ/dlogp[n]
 * (GRPO's clipped advantage and KL terms), so one fused kernel serves SFT, RL and rejection
 * sampling. Returns the weighted sum.
 */
export function weightedCrossEntropy(
  logits: Buf,
  targets: Int32Array,
  weights: Float32Array,
  N: number,
  V: number,
  dlogits: Buf | null,
): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    const o = n * V;
    const w = weights[n];
    if (w === 0) {
      if (dlogits) dlogits.fill(0, o, o + V);
      continue;
    }
    const tgt = targets[n];
    if (tgt < 0 || tgt >= V)
      throw new InputError(`target ${tgt} out of vocabulary range [0, ${V})`, { field: `targets[${n}]` });
    let mx = -Infinity;
    for (let i = 0; i < V; i++) if (logits[o + i] > mx) mx = logits[o + i];
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[o + i] - mx);
    const lse = mx + Math.log(sum);
    total += w * (lse - logits[o + tgt]);
    if (dlogits) {
      for (let i = 0; i < V; i++) dlogits[o + i] = Math.exp(logits[o + i] - lse) * w;
      dlogits[o + tgt] -= w;
    }
  }
  return total;
}

/**
 * Cross-entropy against a soft target distribution q (N, V) (distillation: q = the teacher's
 * softmax at temperature tau), with the student's softmax at the same temperature,
 * p = softmax(logits / tau): loss = sum_{n: mask} KL(q || p) / denom. The gradient w.r.t. the
 * logits is (p - q) / (tau * denom); callers scale by tau^2 (Hinton et al.) so its size does not
 * depend on tau. Returns the KL sum (0 when the student matches the teacher).
 */
export function softCrossEntropy(
  logits: Buf,
  soft: Float32Array,
  mask: Uint8Array,
  N: number,
  V: number,
  denom: number,
  dlogits: Buf | null,
  tau = 1,
): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    const o = n * V;
    if (!mask[n]) {
      if (dlogits) dlogits.fill(0, o, o + V);
      continue;
    }
    let mx = -Infinity;
    for (let i = 0; i < V; i++) if (logits[o + i] > mx) mx = logits[o + i];
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp((logits[o + i] - mx) / tau);
    const lse = Math.log(sum);
    for (let i = 0; i < V; i++) {
      const q = soft[o + i];
      const lp = (logits[o + i] - mx) / tau - lse;
      if (q > 0) total += q * (Math.log(q) - lp);
      if (dlogits) dlogits[o + i] = (Math.exp(lp) - q) / (tau * denom);
    }
  }
  return total;
}

/** log softmax(logits[n])[targets[n]] for every position n (no gradient). */
export function tokenLogprobs(
  logits: Buf,
  targets: Int32Array,
  N: number,
  V: number,
  out: Float32Array,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * V;
    let mx = -Infinity;
    for (let i = 0; i < V; i++) if (logits[o + i] > mx) mx = logits[o + i];
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[o + i] - mx);
    out[n] = logits[o + targets[n]] - mx - Math.log(sum);
  }
}
