/**
 * GRPO (DeepSeekMath / R1): no critic; for G samples of one prompt with rewards r_1..r_G the
 * advantage of sample i is A_i = (r_i - mean(r)) / (std(r) + eps), shared by all its tokens. The
 * objective per completion token t of sample i (pi = current policy, old = the sampling policy,
 * ref = the frozen reference):
 *
 *   ratio = exp(logp - logp_old)
 *   J_t   = min(ratio A_i, clip(ratio, 1-e, 1+e) A_i) - beta * KL_t
 *   KL_t  = exp(ref - logp) - (ref - logp) - 1          (k3 estimator, >= 0, unbiased)
 *   J     = mean over samples of ( mean over the sample's tokens of J_t )
 *
 * dJ/dlogp_t = [clip inactive] ratio A_i - beta (1 - exp(ref - logp)), scaled by 1/(|o_i| G_total).
 * The training model minimises sum_t w_t * -log p(target_t) (weightedCrossEntropy), whose gradient
 * w.r.t. logp_t is -w_t; minimising -J therefore needs w_t = dJ/dlogp_t. This file computes those
 * weights; the forward/backward is the ordinary one.
 */
import type { SeqBatch } from "./sequences.js";

export interface GrpoLossConfig {
  /** clip range e of the ratio */
  clip: number;
  /** KL coefficient beta */
  beta: number;
}

export const DEFAULT_GRPO_LOSS: GrpoLossConfig = { clip: 0.2, beta: 0.04 };

/** Group-normalised advantages: (r - mean) / (std + eps) within each group (population std). */
export function groupAdvantages(rewards: readonly number[], group: number, eps = 1e-4): number[] {
  const out = new Array<number>(rewards.length).fill(0);
  for (let g = 0; g < rewards.length; g += group) {
    const rs = rewards.slice(g, g + group);
    const mean = rs.reduce((a, b) => a + b, 0) / rs.length;
    const std = Math.sqrt(rs.reduce((a, b) => a + (b - mean) ** 2, 0) / rs.length);
    rs.forEach((r, i) => (out[g + i] = (r - mean) / (std + eps)));
  }
  return out;
}

export interface GrpoTerms {
  /** per-position weights for weightedCrossEntropy (0 outside completions) */
  weights: Float32Array;
  /** the objective J (to maximise), mean KL per token, share of clipped tokens */
  objective: number;
  kl: number;
  clipped: number;
}

export function grpoWeights(
  b: SeqBatch,
  advantages: readonly number[],
  logp: ArrayLike<number>,
  logpOld: ArrayLike<number>,
  logpRef: ArrayLike<number>,
  cfg: GrpoLossConfig = DEFAULT_GRPO_LOSS,
): GrpoTerms {
  const weights = new Float32Array(b.B * b.T);
  const nSeq = b.spans.length;
  let objective = 0;
  let kl = 0;
  let clipped = 0;
  let tokens = 0;
  b.spans.forEach((s, i) => {
    const A = advantages[i];
    const len = s.end - s.start;
    if (len <= 0) return;
    const scale = 1 / (len * nSeq);
    for (let n = s.start; n < s.end; n++) {
      const ratio = Math.exp(logp[n] - logpOld[n]);
      const lo = 1 - cfg.clip;
      const hi = 1 + cfg.clip;
      const unclipped = ratio * A;
      const clippedV = Math.min(Math.max(ratio, lo), hi) * A;
      // the min picks the clipped (constant) branch only when it is strictly smaller
      const active = unclipped <= clippedV;
      const d = ref(logpRef[n], logp[n]);
      const klT = Math.exp(d) - d - 1;
      objective += (Math.min(unclipped, clippedV) - cfg.beta * klT) * scale;
      kl += klT;
      tokens++;
      if (!active) clipped++;
      const dJ = (active ? unclipped : 0) - cfg.beta * (1 - Math.exp(d));
      weights[n] = dJ * scale;
    }
  });
  return { weights, objective, kl: tokens ? kl / tokens : 0, clipped: tokens ? clipped / tokens : 0 };
}

function ref(logpRef: number, logp: number): number {
  return logpRef - logp;
}
