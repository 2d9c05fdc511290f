/**
 * Sampling completions from the policy being trained. Two implementations of one interface:
 *   engineSampler   the inference engine (KV cache, batched decode of the n samples of a prompt):
 *                   the current weights are exported to an F32 GGUF in a work directory and
 *                   loaded; for real runs
 *   modelSampler    the training model itself, recomputing the whole prefix per token (no cache):
 *                   exact and dependency-free, for tests and tiny models
 * A completion ends with the end-of-turn token when the model stopped (so training on it teaches
 * the stop), and without it when it ran into maxTokens.
 */
import { join } from "node:path";
import { loadLLM } from "../../engine/llm.js";
import type { Vocab } from "../bpe/vocab.js";
import { exportGGUF } from "../export.js";
import type { TrainModelConfig } from "../model/config.js";
import { LlamaTrainModel } from "../model/llama.js";
import { Rng, hash32 } from "../../sampling/rng.js";

export interface SampleOptions {
  temperature: number;
  maxTokens: number;
  /** per prompt: a cap below maxTokens (e.g. a hinted prompt's shorter rest) */
  maxTokensPer?: readonly number[];
  seed: number;
}

export interface Sampler {
  /** n completions (token ids) of every prompt, under the given weights */
  sample(params: Float32Array, prompts: number[][], n: number, o: SampleOptions): Promise<number[][][]>;
}

export function engineSampler(
  config: TrainModelConfig,
  vocab: Vocab,
  workDir: string,
  threads = 2,
  /** decode all prompts' samples together (one batch of up to 16 sequences) instead of prompt by prompt */
  concurrent = false,
): Sampler {
  return {
    async sample(params, prompts, n, o) {
      const path = join(workDir, "policy-sampler.gguf");
      await exportGGUF(path, config, params, vocab, { name: "policy", type: "f32" });
      const parallel = Math.min(16, concurrent ? n * prompts.length : n);
      const llm = await loadLLM(path, { kernels: "wasm", threads, parallel });
      const one = async (i: number) => {
        const c = await llm.complete(prompts[i], {
          n,
          temperature: o.temperature,
          seed: o.seed + 1000 * i,
          maxTokens: o.maxTokensPer?.[i] ?? o.maxTokens,
        });
        return c.choices.map((ch) => (ch.finishReason === "stop" ? [...ch.tokens, vocab.eot] : ch.tokens));
      };
      try {
        if (concurrent) return await Promise.all(prompts.map((_, i) => one(i)));
        const out: number[][][] = [];
        for (let i = 0; i < prompts.length; i++) out.push(await one(i));
        return out;
      } finally {
        await llm.close();
      }
    },
  };
}

/** Inverse-CDF draw from softmax(logits / temperature); argmax at temperature 0. */
export function sampleToken(logits: ArrayLike<number>, temperature: number, u: number): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  if (temperature <= 0) return best;
  let sum = 0;
  const p = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp((logits[i] - logits[best]) / temperature);
  let r = u * sum;
  for (let i = 0; i < p.length; i++) if ((r -= p[i]) < 0) return i;
  return p.length - 1;
}

export function modelSampler(config: TrainModelConfig, eot: number, pad: number): Sampler {
  return {
    async sample(params, prompts, n, o) {
      const V = config.vocab;
      const out: number[][][] = [];
      for (let i = 0; i < prompts.length; i++) {
        const group: number[][] = [];
        for (let j = 0; j < n; j++) {
          const rng = new Rng(hash32(`sample:${o.seed}:${i}:${j}`));
          const seq = [...prompts[i]];
          const comp: number[] = [];
          const maxTokens = o.maxTokensPer?.[i] ?? o.maxTokens;
          const T = Math.min(config.ctx, prompts[i].length + maxTokens);
          const m = new LlamaTrainModel(config, 1, T, Float32Array, params);
          while (comp.length < maxTokens && seq.length < T + 1) {
            const toks = new Int32Array(T).fill(pad);
            toks.set(seq.slice(0, T));
            m.forward(toks);
            const at = (seq.length - 1) * V;
            const t = sampleToken(m.lastLogits.subarray(at, at + V), o.temperature, rng.uniform());
            seq.push(t);
            comp.push(t);
            if (t === eot || seq.length > T) break;
          }
          group.push(comp);
        }
        out.push(group);
      }
      return out;
    },
  };
}
