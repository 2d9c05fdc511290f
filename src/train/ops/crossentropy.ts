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
