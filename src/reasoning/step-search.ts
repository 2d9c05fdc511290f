/**
 * Step-level beam search over reasoning (process-verifier guided; cf. Lightman et al. 2023
 * "Let's verify step by step", Yao et al. 2023 tree of thoughts). A step is one line. Each beam
 * is expanded by `expand` sampled next steps (decoded together: they share the beam's prefix),
 * every expansion is scored by the verifier as a partial candidate (or as a final one when it
 * ended), and the `width` best survive. Finished beams leave the frontier; the result is the
 * finished beam with the best final score.
 */
import { InputError } from "../errors.js";
import type { GenerateOptions, LLM } from "../engine/llm.js";
import { makeExtractor, type Extractor, type ExtractorName } from "../verify/extract.js";
import { clampScore, type Verifier } from "../verify/verifier.js";

/** One sampled step: a line (ending "\n") or the end of the answer (`done`). */
export interface Step {
  text: string;
  done: boolean;
  /** Tokens decoded for it. */
  tokens: number;
  /** The model's log-probability of the step's tokens (raw logits, before sampling processors). */
  logprob?: number;
  /** Ended because its token cap ran out (a cut line, not the model's own end). */
  cut?: boolean;
}

/**
 * Next steps after `prefix` (generated text so far): n continuations, each one line or the end.
 * `maxTokens` caps each continuation (a budgeted search lowers it as its budget runs out).
 */
export type StepGenerator = (
  prefix: string,
  o: {
    n: number;
    seed?: number;
    temperature?: number;
    topP?: number;
    maxTokens?: number;
    signal?: AbortSignal;
  },
) => Promise<Step[]>;

export interface StepSearchOptions {
  question: string;
  verifier: Verifier;
  /** Beams kept per depth. Default 2. */
  width?: number;
  /** Expansions sampled per beam. Default 4. */
  expand?: number;
  /** Most steps. Default 32. */
  maxSteps?: number;
  temperature?: number;
  seed?: number;
  extractor?: ExtractorName | { regex: string | RegExp } | Extractor;
  signal?: AbortSignal;
}

export interface Beam {
  text: string;
  score: number;
  done: boolean;
  steps: number;
}

export interface StepSearchResult {
  answer: string | undefined;
  best: Beam | undefined;
  /** Finished beams, best first. */
  finished: Beam[];
  tokens: number;
  /** Verifier calls made. */
  scored: number;
}

export async function stepSearch(gen: StepGenerator, o: StepSearchOptions): Promise<StepSearchResult> {
  const width = o.width ?? 2;
  const expand = o.expand ?? 4;
  const maxSteps = o.maxSteps ?? 32;
  for (const [k, v] of Object.entries({ width, expand, maxSteps })) {
    if (!Number.isInteger(v) || v < 1 || v > 64)
      throw new InputError(`step search ${k} must be an integer in 1..64, got ${v}`, { field: k });
  }
  const extract = makeExtractor(o.extractor);
  let frontier: Beam[] = [{ text: "", score: 1, done: false, steps: 0 }];
  const finished: Beam[] = [];
  let tokens = 0;
  let scored = 0;
  let call = 0;
  for (let depth = 0; depth < maxSteps && frontier.length > 0; depth++) {
    if (o.signal?.aborted) break;
    const children: Beam[] = [];
    for (const b of frontier) {
      const seed = o.seed === undefined ? undefined : o.seed + 1000 * call++;
      const steps = await gen(b.text, { n: expand, seed, temperature: o.temperature, signal: o.signal });
      const seen = new Set<string>();
      for (const s of steps) {
        tokens += s.tokens;
        if (seen.has(s.text) && !s.done) continue; // identical expansions: keep one
        seen.add(s.text);
        const text = b.text + s.text;
        const v = await o.verifier.verify({
          question: o.question,
          text,
          answer: s.done ? extract(text) : undefined,
          partial: !s.done,
        });
        scored++;
        children.push({
          text,
          score: clampScore(v.score),
          done: s.done || s.text === "",
          steps: b.steps + 1,
        });
      }
    }
    children.sort((a, b) => b.score - a.score); // stable: earlier expansions win ties
    frontier = [];
    for (const c of children.slice(0, width)) (c.done ? finished : frontier).push(c);
  }
  // Beams cut by maxSteps count as finished, scored as final candidates.
  for (const b of frontier) {
    const v = await o.verifier.verify({ question: o.question, text: b.text, answer: extract(b.text) });
    scored++;
    finished.push({ ...b, score: clampScore(v.score) });
  }
  finished.sort((a, b) => b.score - a.score);
  const best = finished[0];
  return { answer: best ? extract(best.text) : undefined, best, finished, tokens, scored };
}

/** Counters of an llmStepGenerator: prompt tokens submitted and of those found in the prefix cache. */
export interface StepGeneratorStats {
  calls: number;
  promptTokens: number;
  cachedTokens: number;
}

/**
 * A StepGenerator over a loaded model: prompt ids + the prefix's tokens, lines cut at "\n".
 * Prefix sharing: sample 0 of a call starts alone and the other n-1 once it has its first token,
 * so they adopt the prefix's KV from the prefix cache (simultaneous requests would each prefill
 * it). A prefix this generator produced is continued from the exact token ids it sampled (so the
 * KV of earlier steps is found in the cache and the model sees its own tokenization); other
 * prefixes are encoded.
 */
export function llmStepGenerator(
  llm: LLM,
  promptIds: number[],
  maxStepTokens = 64,
  /** Extra sampling options (min_p, penalties, logit bias...). */
  sampling?: Omit<GenerateOptions, "n" | "seed" | "maxTokens" | "signal" | "stop" | "logprobs">,
): StepGenerator & { stats: StepGeneratorStats } {
  const eog = llm.tokenizer.eog;
  const known = new Map<string, number[]>([["", promptIds]]);
  const stats: StepGeneratorStats = { calls: 0, promptTokens: 0, cachedTokens: 0 };
  const gen = async (prefix: string, o: Parameters<StepGenerator>[1]): Promise<Step[]> => {
    const ids =
      known.get(prefix) ??
      promptIds.concat(llm.tokenizer.encode(prefix, { addSpecial: false, parseSpecial: true }));
    const maxTokens = Math.min(maxStepTokens, o.maxTokens ?? maxStepTokens);
    const one = async (i: number, started?: () => void) => {
      const s = { text: "", done: false, tokens: 0, logprob: 0, cut: false, last: -1, ids: [] as number[] };
      for await (const c of llm.generate(ids, {
        ...sampling,
        n: 1,
        seed: o.seed === undefined ? undefined : o.seed + i,
        temperature: o.temperature ?? sampling?.temperature,
        topP: o.topP ?? sampling?.topP,
        maxTokens,
        stop: ["\n"],
        logprobs: 0,
        signal: o.signal,
      })) {
        started?.();
        s.text += c.text;
        if (c.type === "token") {
          s.last = c.token;
          s.ids.push(c.token);
          s.logprob += c.logprob?.logprob ?? 0;
        } else {
          s.tokens = c.completionTokens;
          stats.calls++;
          stats.promptTokens += c.promptTokens;
          stats.cachedTokens += c.cachedTokens;
          // Ended by end-of-generation (or the context): done. Ended by the "\n" stop: one more step.
          if (eog.has(s.last) || c.reason !== "stop") {
            s.done = true;
            s.cut = c.reason === "length";
          } else {
            s.text += "\n";
            // the sampled ids spell exactly the text: the next call continues from them
            if (llm.tokenizer.decode(s.ids) === s.text) known.set(prefix + s.text, ids.concat(s.ids));
          }
        }
      }
      const { text, done, tokens, logprob, cut } = s;
      return { text, done, tokens, logprob, cut };
    };
    let firstSeen!: () => void;
    const first = new Promise<void>((r) => (firstSeen = r));
    const lead = one(0, firstSeen).finally(firstSeen);
    await first;
    const rest = Array.from({ length: o.n - 1 }, (_, i) => one(i + 1));
    return Promise.all([lead, ...rest]);
  };
  return Object.assign(gen, { stats });
}
