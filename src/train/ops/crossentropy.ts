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
 * The distillation loss over the masked positions, with q (N, V) the teacher's softmax at
 * temperature tau and p_tau = softmax(logits / tau) the student's at the same tau:
 *   loss = sum_{n: mask} [ alpha * tau^2 * KL(q_n || p_tau,n) + (1 - alpha) * -log p_1,n(y_n) ] / denom
 * (Hinton et al.: the tau^2 keeps the soft term's gradient the same size whatever tau; y = the
 * gold next tokens). Gradient w.r.t. the logits, written to dlogits (may alias logits):
 *   [ alpha * tau * (p_tau - q) + (1 - alpha) * (p_1 - onehot(y)) ] / denom
 * One pass for both terms, so a distillation step costs the student one forward+backward, as an
 * SFT step does. `targets` are read only when alpha < 1. Returns the unnormalised sums of both
 * terms (kl: the KL sum, ce: the gold-token NLL sum), unweighted.
 */
export function distillCrossEntropy(
  logits: Buf,
  soft: Float32Array,
  targets: Int32Array | null,
  mask: Uint8Array,
  N: number,
  V: number,
  denom: number,
  dlogits: Buf | null,
  tau = 1,
  alpha = 1,
): { kl: number; ce: number } {
  if (!(tau > 0))
    throw new InputError(`distillation temperature must be > 0, got ${tau}`, { field: "temperature" });
  if (!(alpha >= 0 && alpha <= 1))
    throw new InputError(`distillation weight alpha must be in [0, 1], got ${alpha}`, { field: "alpha" });
  const hard = alpha < 1;
  if (hard && (!targets || targets.length !== N))
    throw new InputError(`alpha < 1 needs ${N} gold targets`, { field: "targets" });
  let kl = 0;
  let ce = 0;
  const ks = (alpha * tau) / denom;
  const kh = (1 - alpha) / denom;
  for (let n = 0; n < N; n++) {
    const o = n * V;
    if (!mask[n]) {
      if (dlogits) dlogits.fill(0, o, o + V);
      continue;
    }
    let mx = -Infinity;
    for (let i = 0; i < V; i++) if (logits[o + i] > mx) mx = logits[o + i];
    let sumT = 0;
    let sum1 = 0;
    for (let i = 0; i < V; i++) {
      sumT += Math.exp((logits[o + i] - mx) / tau);
      if (hard) sum1 += Math.exp(logits[o + i] - mx);
    }
    const lseT = Math.log(sumT);
    const lse1 = Math.log(sum1);
    const tgt = hard ? targets![n] : -1;
    if (hard) {
      if (tgt < 0 || tgt >= V)
        throw new InputError(`target ${tgt} out of vocabulary range [0, ${V})`, { field: `targets[${n}]` });
      ce += lse1 - (logits[o + tgt] - mx);
    }
    for (let i = 0; i < V; i++) {
      const q = soft[o + i];
      const z = logits[o + i] - mx;
      const lp = z / tau - lseT;
      if (q > 0) kl += q * (Math.log(q) - lp);
      if (dlogits) {
        let g = ks * (Math.exp(lp) - q);
        if (hard) g += kh * Math.exp(z - lse1);
        dlogits[o + i] = g;
      }
    }
    if (dlogits && hard) dlogits[o + tgt] -= kh;
  }
  return { kl, ce };
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
