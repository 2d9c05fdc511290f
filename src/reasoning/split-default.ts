/**
 * Whether a chat response carries `reasoning_content` separately from `content` — on by default
 * for models that think, as llama-server (`--reasoning-format`, default auto/deepseek) and vLLM
 * (`--reasoning-parser`) do, so OpenAI-style clients never see `<think>` inside `content`.
 *
 *   modelThinks(tok)          the vocabulary has a `<think>` and a `</think>` token, or the chat
 *                             template writes `<think>` (decided from the file, not the model name)
 *   ReasoningFormat           "auto" (default) | "deepseek" (always split) | "none" (the think
 *                             block stays in content): llama-server's request field
 *                             `reasoning_format`, or vLLM/SGLang's boolean `separate_reasoning`
 *                             (false = "none"); the server validates the fields
 *   splitsReasoning(...)      the decision: none -> never; deepseek -> always; auto -> when the
 *                             model thinks or the request used a reasoning field
 */
import { THINK_CLOSE, THINK_OPEN } from "./budget.js";

export type ReasoningFormat = "auto" | "deepseek" | "none";

/** What modelThinks needs of a tokenizer (src/tokenizer/tokenizer.ts Tokenizer has both). */
export interface ThinkVocab {
  tokenId(text: string): number | undefined;
  readonly chatTemplate?: string;
}

export function modelThinks(tok: ThinkVocab): boolean {
  if (tok.tokenId(THINK_OPEN) !== undefined && tok.tokenId(THINK_CLOSE) !== undefined) return true;
  return (tok.chatTemplate ?? "").includes(THINK_OPEN);
}

export function splitsReasoning(format: ReasoningFormat, thinks: boolean, reasoningFields: boolean): boolean {
  if (format === "none") return false;
  if (format === "deepseek") return true;
  return thinks || reasoningFields;
}
