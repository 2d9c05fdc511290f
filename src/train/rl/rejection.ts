/**
 * Rejection-sampling SFT (R1's third stage): sample k completions per prompt from the current
 * model, keep the ones the verifier accepts (distinct ones only), and turn them into an SFT
 * corpus (loss on the completion tokens) for the ordinary training loop. The share accepted per
 * prompt is reported: prompts the model never solves contribute nothing (that is the point:
 * the model learns from its own verified reasoning, not from new targets).
 */
import type { TokenizedSet } from "../batches.js";
import type { RlPrompt } from "./grpo.js";
import type { Sampler, SampleOptions } from "./sampler.js";

export interface RejectionResult {
  set: TokenizedSet;
  /** accepted completions, and how many prompts got at least one */
  accepted: number;
  sampled: number;
  promptsSolved: number;
}

export async function rejectionSample(
  params: Float32Array,
  prompts: readonly RlPrompt[],
  sampler: Sampler,
  k: number,
  reward: (completion: number[], p: RlPrompt) => number,
  pad: number,
  o: SampleOptions,
  /** prompts per sampler call (the engine reloads the weights once per call) */
  chunk = 64,
): Promise<RejectionResult> {
  const ids: number[] = [];
  const train: number[] = [];
  const starts: number[] = [];
  let accepted = 0;
  let sampled = 0;
  let promptsSolved = 0;
  for (let c = 0; c < prompts.length; c += chunk) {
    const part = prompts.slice(c, c + chunk);
    const samples = await sampler.sample(
      params,
      part.map((p) => p.ids),
      k,
      { ...o, seed: o.seed + c * 7919 },
    );
    samples.forEach((group, i) => {
      const p = part[i];
      const seen = new Set<string>();
      for (const comp of group) {
        sampled++;
        if (reward(comp, p) < 1) continue;
        const key = comp.join(",");
        if (seen.has(key)) continue;
        seen.add(key);
        starts.push(ids.length);
        for (const t of p.ids) {
          ids.push(t);
          train.push(0);
        }
        for (const t of comp) {
          ids.push(t);
          train.push(1);
        }
        accepted++;
      }
      if (seen.size > 0) promptsSolved++;
    });
  }
  return {
    set: { ids: Int32Array.from(ids), train: Uint8Array.from(train), starts: Int32Array.from(starts), pad },
    accepted,
    sampled,
    promptsSolved,
  };
}
