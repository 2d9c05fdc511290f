/** What the chat and completions routes (and the MCP agent loop) share: sampling fields -> GenerateOptions, token pieces, usage. */
import type { GenerateOptions, LLM } from "../engine/llm.js";
import type { SamplingFields, Usage } from "./openai/types.js";
import { badRequest } from "./openai/errors.js";

export function genOptions(r: SamplingFields, prompt: number[], llm: LLM): GenerateOptions {
  const room = llm.contextSize - prompt.length;
  const eviction = r.eviction ?? llm.eviction;
  if (r.eviction && r.eviction.budget > llm.contextSize)
    throw badRequest(
      `'kv_eviction.budget' must be at most the context size ${llm.contextSize}, got ${r.eviction.budget}`,
      "kv_eviction.budget",
      "invalid_value",
    );
  if (eviction && prompt.length >= eviction.budget)
    throw badRequest(
      `the prompt has ${prompt.length} tokens; the KV eviction budget holds ${eviction.budget}`,
      r.eviction ? "kv_eviction.budget" : "messages",
      "context_length_exceeded",
    );
  return {
    // With eviction the sequence keeps at most its budget: max_tokens is not bound by the context.
    maxTokens: eviction ? (r.maxTokens ?? room) : Math.min(r.maxTokens ?? room, room),
    ...(r.eviction ? { eviction: r.eviction } : {}),
    n: r.n,
    stop: r.stop,
    temperature: r.temperature,
    topP: r.topP,
    topK: r.topK,
    minP: r.minP,
    repetitionPenalty: r.repetitionPenalty,
    frequencyPenalty: r.frequencyPenalty,
    presencePenalty: r.presencePenalty,
    seed: r.seed,
    logitBias: r.logitBias,
    ignoreEos: r.ignoreEos,
    lora: r.lora?.map((e) => ({
      id: llm.lora.idOf(e.id),
      ...(e.scale === undefined ? {} : { scale: e.scale }),
    })),
  };
}

export function tokenPiece(llm: LLM, id: number): { token: string; bytes: number[] } {
  const b = llm.tokenizer.tokenBytes(id, true);
  return { token: new TextDecoder().decode(b), bytes: Array.from(b) };
}

export function usageOf(prompt: number, completion: number, cached: number, evicted = 0): Usage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
    ...(evicted > 0 ? { kv_evicted_tokens: evicted } : {}),
  };
}
