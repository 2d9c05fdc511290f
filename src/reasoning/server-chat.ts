/**
 * What a chat route needs for a request's reasoning options (ReasoningFields), kept here so the route
 * itself changes by a few lines:
 *   chatKwargs        enable_thinking for the template
 *   thinkingOptions   the budget's forcing hook for GenerateOptions
 *   ThinkingAccount   per choice: splits streamed text into reasoning_content / content deltas
 *                     and counts reasoning tokens (by token ids, tags included)
 *   strategyChat      runs self_consistency / best_of_n and builds the chat.completion body
 */
import type { GenerateOptions, LLM } from "../engine/llm.js";
import {
  budgetFor,
  budgetForcer,
  promptOpensThinking,
  ThinkingScanner,
  tokenizerPiece,
  type PieceFn,
} from "./budget.js";
import { llmGenerator } from "./llm-generator.js";
import { runStrategy } from "./strategy.js";
import { ReasoningSplitter, splitReasoning, type ReasoningParts } from "./split.js";
import { buildVerifier } from "../verify/spec.js";
import { ArithmeticVerifier } from "../verify/arithmetic.js";
import { llmJudge } from "../verify/model-judge.js";
import type { ChatMessage } from "../tokenizer/chat-template.js";
import type { ExtractorName } from "../verify/extract.js";
import type { RequestVerifierSpec } from "../verify/spec.js";
import type { Selection } from "./best-of-n.js";
import type { StrategyName } from "./strategy.js";

/**
 * The reasoning options of one chat request (the server validates its extension fields
 * enable_thinking, thinking_budget and reasoning into this; server/openai/validate.ts).
 */
export interface ReasoningFields {
  enableThinking: boolean | undefined;
  thinkingBudget: number | undefined;
  strategy:
    | {
        name: StrategyName;
        samples: number;
        earlyStop: boolean;
        agreement: number | undefined;
        extractor: ExtractorName | { regex: string };
        verifier: RequestVerifierSpec | undefined;
        selection: Selection;
        /** mcts: most tokens decoded. */
        budget?: number;
      }
    | undefined;
}

export function chatKwargs(f: ReasoningFields | undefined): Record<string, unknown> | undefined {
  return f?.enableThinking === undefined ? undefined : { enable_thinking: f.enableThinking };
}

/** GenerateOptions additions: the budget hook; greedy strategy means temperature 0. */
export function thinkingOptions(llm: LLM, f: ReasoningFields | undefined): Partial<GenerateOptions> {
  const o: Partial<GenerateOptions> = {};
  if (f?.strategy?.name === "greedy") o.temperature = 0;
  if (f?.thinkingBudget !== undefined)
    o.forceToken = budgetForcer(budgetFor(llm.tokenizer, f.thinkingBudget));
  return o;
}

export class ThinkingAccount {
  private readonly piece: PieceFn;
  /** The prompt left `<think>` open (the template opened the block). */
  readonly opensThinking: boolean;
  private readonly scanners = new Map<number, ThinkingScanner>();
  private readonly splitters = new Map<number, ReasoningSplitter>();

  constructor(llm: LLM, prompt: number[]) {
    this.piece = tokenizerPiece(llm.tokenizer);
    this.opensThinking = promptOpensThinking(prompt, this.piece);
  }

  private splitter(index: number): ReasoningSplitter {
    let s = this.splitters.get(index);
    if (!s) this.splitters.set(index, (s = new ReasoningSplitter(this.opensThinking)));
    return s;
  }

  /** A token of choice `index` and its released text -> the deltas to send. */
  push(index: number, token: number | undefined, text: string): ReasoningParts {
    if (token !== undefined) {
      let sc = this.scanners.get(index);
      if (!sc) this.scanners.set(index, (sc = new ThinkingScanner(this.piece, this.opensThinking)));
      sc.push(token);
    }
    return this.splitter(index).push(text);
  }

  /** End of choice `index` (with the final released text). */
  finish(index: number, text: string): ReasoningParts {
    const a = this.splitter(index).push(text);
    const b = this.splitter(index).flush();
    return { reasoning: a.reasoning + b.reasoning, content: a.content + b.content };
  }

  reasoningTokens(): number {
    let n = 0;
    for (const sc of this.scanners.values()) n += sc.reasoningTokens();
    return n;
  }

  /** Fields for usage. */
  usageDetails(): { completion_tokens_details: { reasoning_tokens: number } } {
    return { completion_tokens_details: { reasoning_tokens: this.reasoningTokens() } };
  }
}

/** A whole message's text -> { content, reasoning_content }. */
export function splitMessage(
  text: string,
  startsInThinking: boolean,
): { content: string; reasoning_content: string } {
  const p = splitReasoning(text, startsInThinking);
  return { content: p.content, reasoning_content: p.reasoning };
}

/** Run a sampling strategy for a chat request; returns the chat.completion body parts. */
export async function strategyChat(
  llm: LLM,
  prompt: number[],
  messages: ChatMessage[],
  f: ReasoningFields,
  opts: GenerateOptions,
): Promise<{
  message: { role: "assistant"; content: string; reasoning_content: string; refusal: null };
  /** The chosen sample's whole text (think block included), for reasoning_format "none". */
  text: string;
  finish_reason: string;
  reasoning: object;
  completionTokens: number;
  reasoningTokens: number;
}> {
  const s = f.strategy!;
  const gen = llmGenerator(llm, prompt, {
    sampling: {
      minP: opts.minP,
      repetitionPenalty: opts.repetitionPenalty,
      frequencyPenalty: opts.frequencyPenalty,
      presencePenalty: opts.presencePenalty,
      logitBias: opts.logitBias,
      ignoreEos: opts.ignoreEos,
    },
    stop: Array.isArray(opts.stop) ? opts.stop : opts.stop ? [opts.stop] : undefined,
  });
  const userContent = [...messages].reverse().find((m) => m.role === "user")?.content;
  const lastUser = typeof userContent === "string" ? userContent : "";
  const r = await runStrategy(gen, {
    strategy: s.name,
    samples: s.samples,
    earlyStop: s.earlyStop ? { agreement: s.agreement } : false,
    // mcts scores partial candidates: the arithmetic verifier re-checks each step when none is named
    verifier: s.verifier
      ? buildVerifier(s.verifier, { judge: llmJudge(llm) })
      : s.name === "mcts"
        ? new ArithmeticVerifier()
        : undefined,
    budget: s.budget,
    selection: s.selection,
    question: lastUser,
    extractor: s.extractor,
    temperature: opts.temperature,
    topP: opts.topP,
    topK: opts.topK,
    seed: opts.seed,
    maxTokens: opts.maxTokens,
    thinkingBudget: f.thinkingBudget,
    startsInThinking: gen.prompt.opensThinking,
    signal: opts.signal,
  });
  const chosen = r.candidates.find((c) => c.text === r.text);
  return {
    message: { role: "assistant", content: r.content, reasoning_content: r.reasoning, refusal: null },
    text: r.text,
    finish_reason: chosen?.finishReason === "length" ? "length" : "stop",
    reasoning: {
      strategy: r.strategy,
      answer: r.answer ?? null,
      votes: (r.counts ?? []).map((c) => ({ answer: c.answer, votes: c.votes })),
      agreement: r.agreement ?? null,
      samples: r.samplesRequested,
      samples_used: r.samplesRequested - r.samplesSaved,
      samples_saved: r.samplesSaved,
      stop_reason: r.stopReason ?? null,
      scores:
        s.name === "best_of_n" || s.name === "mcts" ? r.candidates.map((c) => c.score ?? null) : undefined,
      search: r.search,
    },
    completionTokens: r.tokens,
    reasoningTokens: r.reasoningTokens,
  };
}
