/**
 * The subset of OpenAI's chat/completions protocol we serve, after validation (normalised:
 * one max_tokens, stop as a list, content as text). Field names of the wire format stay snake_case
 * in the response types because clients read them as such.
 */
import type { EvictionPolicy } from "../../kv/eviction.js";
import type { ChatMessage } from "../../tokenizer/chat-template.js";
import type { ReasoningFields } from "../../reasoning/server-chat.js";
import type { ReasoningFormat } from "../../reasoning/split-default.js";
import type { ImageInput } from "./image-parts.js";

export interface SamplingFields {
  model: string;
  stream: boolean;
  includeUsage: boolean;
  n: number;
  stop: string[];
  maxTokens: number | undefined;
  temperature: number | undefined;
  topP: number | undefined;
  topK: number | undefined;
  minP: number | undefined;
  repetitionPenalty: number | undefined;
  frequencyPenalty: number | undefined;
  presencePenalty: number | undefined;
  seed: number | undefined;
  logitBias: Record<string, number> | undefined;
  /** llama.cpp server extension: generate through end-of-generation tokens. */
  ignoreEos: boolean;
  /**
   * llama-server extension: LoRA adapters for this request, `[{id, scale}]`; an id is a loaded
   * adapter's name or its index in GET /lora-adapters. undefined = the adapters' default scales.
   */
  lora: { id: string | number; scale?: number }[] | undefined;
  /**
   * edgellm extension `kv_eviction: {policy, budget}`: token eviction for this request
   * (kv/eviction.ts: "streaming" StreamingLLM, "h2o", "snapkv"); undefined = the server's default
   * (serve --kv-evict), else none. The usage then reports `kv_evicted_tokens`.
   */
  eviction?: EvictionPolicy;
}

export interface ChatRequest extends SamplingFields {
  messages: ChatMessage[];
  /** undefined = no logprobs; else top alternatives per token (0..20). */
  topLogprobs: number | undefined;
  /** Reasoning extension fields (enable_thinking, thinking_budget, reasoning), validated in validate.ts. */
  thinking?: ReasoningFields;
  /**
   * `reasoning_format` ("auto" | "deepseek" | "none", llama-server) or `separate_reasoning`
   * (boolean, vLLM/SGLang): whether the think block goes to `reasoning_content`; default "auto"
   * (split for models that think), see reasoning/split-default.ts.
   */
  reasoningFormat: ReasoningFormat;
  /**
   * edgellm extension `truncate`: "oldest_turns" drops the oldest whole turns (keeping the system
   * message) when the conversation outgrows the context, instead of the 400; default "none".
   */
  truncate?: "none" | "oldest_turns";
  /** Decoded `image_url` parts (openai/image-parts.ts), in request order; absent when none. */
  images?: ImageInput[];
}

export interface CompletionRequest extends SamplingFields {
  /** Text, or token ids. */
  prompt: string | number[];
  /** Legacy completions logprobs: alternatives per token (0..5), undefined = none. */
  logprobs: number | undefined;
  echo: boolean;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  /** edgellm extension: tokens dropped from the KV by eviction (kv_eviction), when any. */
  kv_evicted_tokens?: number;
}

export interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}
