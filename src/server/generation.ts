/** What the chat and completions routes (and the MCP agent loop) share: sampling fields -> GenerateOptions, token pieces, usage. */
import type { GenerateOptions, LLM } from "../engine/llm.js";
import type { SamplingFields, Usage } from "./openai/types.js";

export function genOptions(r: SamplingFields, prompt: number[], llm: LLM): GenerateOptions {
  const room = llm.contextSize - prompt.length;
  return {
    maxTokens: Math.min(r.maxTokens ?? room, room),
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

export function usageOf(prompt: number, completion: number, cached: number): Usage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
  };
}
