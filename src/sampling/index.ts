/** Sampling: processors, the chain, seeded RNG, logprobs. */
export { Candidates } from "./candidates.js";
export {
  LogitBias,
  MinP,
  Penalties,
  Temperature,
  TopK,
  TopP,
  tokenCounts,
  type LogitsProcessor,
} from "./processors.js";
export { resolveSampling, type SamplingParams, type ResolvedSampling } from "./params.js";
export { Sampler } from "./sampler.js";
export { Rng, randomSeed } from "./rng.js";
export { logSumExp, tokenLogprobs, type TokenLogprob } from "./logprobs.js";
