/**
 * Log-probabilities of the model's distribution for one position: log softmax of the raw logits
 * (before any sampling processor), as OpenAI's `logprobs` / `top_logprobs` report them.
 */
export interface TokenLogprob {
  id: number;
  logprob: number;
}

/** log(sum(exp(logits))) in f64, max subtracted. */
export function logSumExp(logits: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - max);
  return max + Math.log(s);
}

/** The logprob of `id` and the `k` most likely tokens (descending; ties by lower id). */
export function tokenLogprobs(
  logits: Float32Array,
  id: number,
  k: number,
): { chosen: TokenLogprob; top: TokenLogprob[] } {
  const lse = logSumExp(logits);
  const top: TokenLogprob[] = [];
  if (k > 0) {
    // A small insertion-sorted list beats a full sort of the vocabulary for k <= 20.
    const best: number[] = [];
    for (let i = 0; i < logits.length; i++) {
      const v = logits[i];
      if (best.length === k && v <= logits[best[k - 1]]) continue;
      let j = best.length < k ? best.length : k - 1;
      if (best.length < k) best.push(i);
      while (j > 0 && logits[best[j - 1]] < v) {
        best[j] = best[j - 1];
        j--;
      }
      best[j] = i;
    }
    for (const i of best) top.push({ id: i, logprob: logits[i] - lse });
  }
  return { chosen: { id, logprob: logits[id] - lse }, top };
}
