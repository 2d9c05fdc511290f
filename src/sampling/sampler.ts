/**
 * A sampler: the processor chain in llama.cpp's default order (logit bias, penalties, top-k,
 * top-p, min-p, temperature), then a draw from the softmax of what is left with this sequence's
 * own seeded RNG. One Sampler per sequence, so a seed reproduces a sequence whatever else runs
 * in the same batch.
 */
import { Candidates } from "./candidates.js";
import { LogitBias, MinP, Penalties, Temperature, TopK, TopP, type LogitsProcessor } from "./processors.js";
import { resolveSampling, type ResolvedSampling, type SamplingParams } from "./params.js";
import { Rng, randomSeed } from "./rng.js";

export class Sampler {
  readonly params: ResolvedSampling;
  readonly seed: number;
  private readonly rng: Rng;
  private readonly penalties: Penalties;
  readonly chain: LogitsProcessor[];

  constructor(params: SamplingParams = {}, nVocab?: number) {
    this.params = resolveSampling(params, nVocab);
    this.seed = this.params.seed ?? randomSeed();
    this.rng = new Rng(this.seed);
    const p = this.params;
    this.penalties = new Penalties(
      { repeat: p.repetitionPenalty, frequency: p.frequencyPenalty, presence: p.presencePenalty },
      p.penaltyLastN,
    );
    this.chain = [
      new LogitBias(p.logitBias),
      this.penalties,
      new TopK(p.topK, p.minKeep),
      new TopP(p.topP, p.minKeep),
      new MinP(p.minP, p.minKeep),
      new Temperature(p.temperature),
    ];
  }

  get greedy(): boolean {
    return this.params.temperature <= 0;
  }

  /** Run the chain on a copy of `logits` (the model's buffer is left as is). */
  process(logits: Float32Array, history: ArrayLike<number> = []): Candidates {
    const c = Candidates.fromLogits(logits);
    this.penalties.setHistory(history);
    for (const p of this.chain) p.apply(c);
    return c;
  }

  /**
   * The distribution sample() draws from, dense over the vocabulary (speculative sampling): the
   * chain's survivors with their softmax probabilities, zero elsewhere.
   */
  distribution(logits: Float32Array, history: ArrayLike<number> = []): Float64Array {
    const c = this.process(logits, history);
    const d = new Float64Array(logits.length);
    if (c.size === 1) {
      d[c.ids[0]] = 1;
      return d;
    }
    const p = c.probs();
    for (let i = 0; i < c.size; i++) d[c.ids[i]] += p[i];
    return d;
  }

  /** A uniform [0, 1) draw from this sequence's own RNG (speculative accept/reject). */
  random(): number {
    return this.rng.next();
  }

  /** Choose the next token given the logits and the tokens so far (prompt + generated). */
  sample(logits: Float32Array, history: ArrayLike<number> = []): number {
    const c = this.process(logits, history);
    if (c.size === 1) return c.ids[0];
    const p = c.probs();
    let u = this.rng.next();
    for (let i = 0; i < c.size; i++) {
      u -= p[i];
      if (u < 0) return c.ids[i];
    }
    return c.ids[c.size - 1]; // rounding left a sliver of mass
  }
}
