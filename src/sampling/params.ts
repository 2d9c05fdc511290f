/**
 * Sampling parameters (the union of what OpenAI requests and llama.cpp's CLI expose) and their
 * validation. Defaults give plain sampling from the model's distribution at temperature 1.
 */
import { InputError } from "../errors.js";

export interface SamplingParams {
  /** 0 = greedy. Default 1. */
  temperature?: number;
  /** 0 = off. */
  topK?: number;
  /** 1 = off. */
  topP?: number;
  /** 0 = off. */
  minP?: number;
  /** llama.cpp repeat_penalty; 1 = off. */
  repetitionPenalty?: number;
  /** OpenAI frequency_penalty / presence_penalty; 0 = off. */
  frequencyPenalty?: number;
  presencePenalty?: number;
  /** Tokens of history the penalties see; -1 = all, default 64 (llama.cpp's). */
  penaltyLastN?: number;
  /** token id -> added logit (OpenAI logit_bias; -100 effectively bans a token). */
  logitBias?: ReadonlyMap<number, number> | Record<string, number>;
  /** Seed of this sequence's RNG; default random. */
  seed?: number;
  /** Least candidates top-k/top-p/min-p leave. Default 1. */
  minKeep?: number;
}

export type ResolvedSampling = Required<Omit<SamplingParams, "logitBias" | "seed">> & {
  logitBias: Map<number, number>;
  seed: number | undefined;
};

function num(name: string, v: unknown, def: number, ok: (x: number) => boolean, what: string): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) {
    throw new InputError(`${name} must be ${what}, got ${JSON.stringify(v)}`, { field: name });
  }
  return v;
}

export function resolveSampling(p: SamplingParams = {}, nVocab?: number): ResolvedSampling {
  const bias = new Map<number, number>();
  const raw = p.logitBias;
  const entries = raw === undefined ? [] : raw instanceof Map ? [...raw.entries()] : Object.entries(raw);
  for (const [k, v] of entries) {
    const id = Number(k);
    if (!Number.isInteger(id) || id < 0 || (nVocab !== undefined && id >= nVocab)) {
      throw new InputError(
        `logit_bias key ${JSON.stringify(k)} is not a token id${nVocab ? ` in 0..${nVocab - 1}` : ""}`,
        { field: "logit_bias" },
      );
    }
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new InputError(`logit_bias[${k}] must be a number`, { field: "logit_bias" });
    bias.set(id, v);
  }
  if (p.seed !== undefined && !Number.isSafeInteger(p.seed))
    throw new InputError(`seed must be an integer, got ${p.seed}`, { field: "seed" });
  return {
    temperature: num("temperature", p.temperature, 1, (x) => x >= 0, "a number >= 0"),
    topK: num("top_k", p.topK, 0, (x) => Number.isInteger(x) && x >= 0, "an integer >= 0"),
    topP: num("top_p", p.topP, 1, (x) => x > 0 && x <= 1, "in (0, 1]"),
    minP: num("min_p", p.minP, 0, (x) => x >= 0 && x <= 1, "in [0, 1]"),
    repetitionPenalty: num("repetition_penalty", p.repetitionPenalty, 1, (x) => x > 0, "a number > 0"),
    frequencyPenalty: num("frequency_penalty", p.frequencyPenalty, 0, (x) => x >= -2 && x <= 2, "in [-2, 2]"),
    presencePenalty: num("presence_penalty", p.presencePenalty, 0, (x) => x >= -2 && x <= 2, "in [-2, 2]"),
    penaltyLastN: num(
      "penalty_last_n",
      p.penaltyLastN,
      64,
      (x) => Number.isInteger(x) && x >= -1,
      "an integer >= -1",
    ),
    minKeep: num("min_keep", p.minKeep, 1, (x) => Number.isInteger(x) && x >= 1, "an integer >= 1"),
    logitBias: bias,
    seed: p.seed,
  };
}
