/** What callers give the engine and what it streams back, per sequence. */
import type { SamplingParams } from "../sampling/params.js";
import type { LoraRef } from "../model/lora.js";
import type { TokenLogprob } from "../sampling/logprobs.js";
import type { TokenConstraint } from "../sampling/grammar/index.js";
import type { EvictionPolicy } from "../kv/eviction.js";
import type { SpeculativeOptions } from "./speculative.js";

export interface SequenceRequest {
  /** Prompt token ids (already templated and tokenized). */
  prompt: number[];
  /** Most tokens to generate. */
  maxTokens: number;
  sampling?: SamplingParams;
  /** Stop strings (need a tokenizer); the match is cut from the output. */
  stop?: string[];
  /** Token ids that end generation (default: the vocabulary's end-of-generation set). */
  stopTokens?: ReadonlySet<number>;
  /** Keep generating through end-of-generation tokens. */
  ignoreEos?: boolean;
  /** Report the chosen token's logprob and this many alternatives (0 = chosen only). */
  logprobs?: number;
  signal?: AbortSignal;
  /**
   * Test-time control (reasoning/budget.ts): called before each sampling step with all tokens
   * so far (prompt + generated) and the prompt length; a returned id is emitted instead of a
   * sampled one (the sampler's RNG does not advance). undefined = sample as usual.
   */
  forceToken?: (tokens: readonly number[], promptLen: number) => number | undefined;
  /**
   * Constrained decoding (a grammar matcher, one per sequence: it holds state): its apply() runs
   * first in the sampler chain, every emitted token (sampled or forced) is accept()ed, and
   * generation ends with "stop" once isDone(). A token it rejects fails this sequence.
   */
  constraint?: TokenConstraint;
  /**
   * Context shift (engine/context-shift.ts): when the sequence fills the context, keep its first
   * `keep` tokens, drop half of the rest and continue, instead of finishing with "length".
   */
  contextShift?: { keep: number };
  /**
   * Token eviction (kv/eviction.ts): the sequence holds at most `eviction.budget` positions and
   * drops the run the policy selects whenever it gets there (instead of contextShift's rule).
   */
  eviction?: EvictionPolicy;
  /** Prompt-lookup speculative decoding (engine/speculative.ts); used only when sampling is greedy. */
  speculative?: SpeculativeOptions;
  /**
   * LoRA adapters (with scales) for this sequence's rows (model/lora.ts). Sequences with other
   * adapters share the step's base products; their KV blocks are never shared (prefix-cache salt).
   */
  lora?: LoraRef[];
  /**
   * Input rows in place of token embeddings for spans of the prompt (images: vision/). The prompt
   * holds placeholder ids at those positions (any valid id; only their count matters). Spans are
   * computed in their own forward chunks, causally, as llama.cpp does for LLaVA-style projectors.
   */
  media?: MediaSpan[];
}

/** One span of given input rows in a prompt (an image's embeddings). */
export interface MediaSpan {
  /** First prompt position of the span. */
  start: number;
  /** Positions it covers. */
  nTokens: number;
  /** [nTokens][nEmbd] rows (nEmbd: the language model's). */
  embeddings: Float32Array;
  /**
   * Content key (e.g. the image's hash): KV blocks of a prompt with media are shared only with
   * prompts holding the same media (its placeholder ids say nothing about the content).
   */
  key: string;
  /**
   * The span's rows attend to each other bidirectionally (Gemma 3 images; llama.cpp decodes them
   * with causal attention off): the span is computed as one forward chunk (its rest, after a
   * prefix-cache hit inside it), whatever the chunk size.
   */
  nonCausal?: boolean;
}

export type FinishReason = "stop" | "length" | "abort";

export interface TokenEvent {
  type: "token";
  token: number;
  /** Newly releasable text (may be "" while a multi-byte character or possible stop string is held). */
  text: string;
  logprob?: TokenLogprob;
  top?: TokenLogprob[];
}

export interface DoneEvent {
  type: "done";
  reason: FinishReason;
  /** Text released at the end (held tail), possibly "". */
  text: string;
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens whose KV came from the prefix cache. */
  cachedTokens: number;
  /** Submit -> first generated token, and first -> last token. */
  ttftMs: number;
  decodeMs: number;
  /** The seed the sampler used (reproduce with it). */
  seed: number;
  /** Tokens dropped by context shifts during this sequence (absent when none). */
  droppedTokens?: number;
  /** Context shifts done (absent when none). */
  contextShifts?: number;
}

export type SequenceEvent = TokenEvent | DoneEvent;
