/**
 * The Generator over a loaded model (engine/llm.ts). Three jobs:
 *  - prompt: text, ids, or chat messages rendered with the template (enable_thinking passed as a
 *    template variable);
 *  - prefix sharing: sample 0 starts alone; the other n-1 are submitted once it has produced its
 *    first token, i.e. once the prompt's full KV blocks are computed and published, so they adopt
 *    them from the prefix cache instead of each prefilling the prompt (the engine admits
 *    simultaneous requests before any of them has published blocks). Only the prompt's last
 *    partial block (< blockSize tokens, at least the last token) is computed again per sample;
 *  - the thinking budget hook (budget.ts) and per-sample reasoning-token counts;
 *  - `steps`: the same prompt as a line-at-a-time StepGenerator (step-search.ts) for MCTS.
 */
import type { LLM, GenerateOptions } from "../engine/llm.js";
import type { ChatMessage } from "../tokenizer/chat-template.js";
import {
  budgetFor,
  budgetForcer,
  DEFAULT_NUDGE,
  promptOpensThinking,
  ThinkingScanner,
  tokenizerPiece,
  type PieceFn,
} from "./budget.js";
import type { Generator, SampleEvent, SampleOptions } from "./generator.js";
import { llmStepGenerator, type StepGenerator, type StepGeneratorStats } from "./step-search.js";

export type PromptInput = string | number[] | { messages: ChatMessage[] };

export interface LLMGeneratorOptions {
  /** enable_thinking for the chat template (messages input only). Default: the template's default. */
  enableThinking?: boolean;
  /** Nudge written before `</think>` when the budget runs out; false = none. Default DEFAULT_NUDGE. */
  nudge?: string | false;
  /** Text forced right after a budget-forced `</think>` (e.g. "The answer is"). Default none. */
  answerPrefix?: string;
  stop?: string[];
  /** Prefill the prompt once for all samples. Default true. */
  sharePrefix?: boolean;
  /** Extra sampling options (min_p, penalties, ...). */
  sampling?: Omit<GenerateOptions, "n" | "seed" | "maxTokens" | "signal" | "forceToken" | "stop">;
}

export interface PreparedPrompt {
  ids: number[];
  /** Token bytes, for finding the thinking tags in decoded text. */
  piece: PieceFn;
  /** The rendered prompt left `<think>` open. */
  opensThinking: boolean;
}

export function preparePrompt(llm: LLM, input: PromptInput, o: LLMGeneratorOptions = {}): PreparedPrompt {
  let ids: number[];
  if (typeof input === "string") ids = llm.encode(input);
  else if (Array.isArray(input)) ids = input;
  else
    ids = llm.encodeChat(
      input.messages,
      o.enableThinking === undefined ? undefined : { enable_thinking: o.enableThinking },
    );
  const piece = tokenizerPiece(llm.tokenizer);
  return { ids, piece, opensThinking: promptOpensThinking(ids, piece) };
}

/** Merge async iterables into one stream, starting each when its `startAfter` promise resolves. */
async function* mergeStarted<T>(
  parts: { start: () => AsyncIterable<T>; after?: Promise<void> }[],
): AsyncGenerator<T> {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let live = parts.length;
  let failure: { e: unknown } | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  for (const p of parts) {
    void (async () => {
      try {
        await p.after;
        for await (const x of p.start()) {
          queue.push(x);
          notify();
        }
      } catch (e) {
        failure ??= { e };
      } finally {
        live--;
        notify();
      }
    })();
  }
  for (;;) {
    while (queue.length) yield queue.shift()!;
    if (failure) throw failure.e;
    if (live === 0) return;
    await new Promise<void>((r) => (wake = r));
  }
}

export function llmGenerator(
  llm: LLM,
  input: PromptInput,
  o: LLMGeneratorOptions = {},
): Generator & { prompt: PreparedPrompt; steps: StepGenerator & { stats: StepGeneratorStats } } {
  const prompt = preparePrompt(llm, input, o);
  const gen = (opts: SampleOptions): AsyncIterable<SampleEvent> => {
    const base: GenerateOptions = {
      ...o.sampling,
      temperature: opts.temperature ?? o.sampling?.temperature,
      topK: opts.topK ?? o.sampling?.topK,
      topP: opts.topP ?? o.sampling?.topP,
      maxTokens: opts.maxTokens,
      stop: o.stop,
      signal: opts.signal,
    };
    if (opts.thinkingBudget !== undefined) {
      base.forceToken = budgetForcer(
        budgetFor(llm.tokenizer, opts.thinkingBudget, o.nudge ?? DEFAULT_NUDGE, o.answerPrefix),
      );
    }
    const seedOf = (i: number) => (opts.seed === undefined ? undefined : opts.seed + i);
    const scan = Array.from(
      { length: opts.n },
      () => new ThinkingScanner(prompt.piece, prompt.opensThinking),
    );
    // One controller per sample, all aborted by one listener on the caller's signal (the engine
    // adds a listener per sequence to the signal it is given; k samples on one signal pile up).
    const kids = Array.from({ length: opts.n }, () => new AbortController());
    if (opts.signal?.aborted) for (const k of kids) k.abort();
    else opts.signal?.addEventListener("abort", () => kids.forEach((k) => k.abort()), { once: true });
    const stream = (index: number) =>
      async function* (): AsyncGenerator<SampleEvent> {
        const g = llm.generate(prompt.ids, {
          ...base,
          n: 1,
          seed: seedOf(index),
          signal: kids[index].signal,
        });
        for await (const c of g) {
          if (c.type === "token") {
            scan[index].push(c.token);
            yield { type: "token", index, text: c.text };
          } else {
            yield {
              type: "done",
              index,
              text: c.text,
              reason: c.reason,
              completionTokens: c.completionTokens,
              reasoningTokens: scan[index].reasoningTokens(),
            };
          }
        }
      };
    const rest = Array.from({ length: opts.n - 1 }, (_, i) => stream(i + 1));
    if (opts.n === 1 || o.sharePrefix === false)
      return mergeStarted([stream(0), ...rest].map((start) => ({ start })));
    // Sample 0 first; the rest once it has its first token (prompt KV published) or has ended.
    let firstSeen!: () => void;
    const first = new Promise<void>((r) => (firstSeen = r));
    const lead = stream(0);
    const leadWatched = async function* () {
      try {
        for await (const ev of lead()) {
          firstSeen();
          yield ev;
        }
      } finally {
        firstSeen();
      }
    };
    return mergeStarted([{ start: leadWatched }, ...rest.map((start) => ({ start, after: first }))]);
  };
  // single lines after the same prompt, for the step-level strategies (MCTS)
  return Object.assign(gen, { prompt, steps: llmStepGenerator(llm, prompt.ids) });
}
