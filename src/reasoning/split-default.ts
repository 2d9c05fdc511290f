/**
 * Whether a chat response carries `reasoning_content` separately from `content` — on by default
 * for models that think, as llama-server (`--reasoning-format`, default auto/deepseek) and vLLM
 * (`--reasoning-parser`) do, so OpenAI-style clients never see `<think>` inside `content`.
 *
 *   modelThinks(tok)          the vocabulary has a `<think>` and a `</think>` token, or the chat
 *                             template writes `<think>` (decided from the file, not the model name)
 *   parseReasoningFormat(b)   request field `reasoning_format`: "auto" (default) | "deepseek"
 *                             (always split) | "none" (think block stays in content); vLLM/SGLang's
 *                             boolean `separate_reasoning` is accepted too (false = "none")
 *   splitsReasoning(...)      the decision: none -> never; deepseek -> always; auto -> when the
 *                             model thinks or the request used a reasoning field
 */
import { badRequest } from "../errors.js";
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

export function parseReasoningFormat(body: Record<string, unknown>): ReasoningFormat {
  const f = body.reasoning_format;
  const sep = body.separate_reasoning;
  if (f !== undefined && f !== null) {
    if (f !== "auto" && f !== "deepseek" && f !== "none")
      throw badRequest(
        `'reasoning_format' must be "auto", "deepseek" or "none", got ${JSON.stringify(f)}`,
        "reasoning_format",
        "invalid_value",
      );
    return f;
  }
  if (sep !== undefined && sep !== null) {
    if (typeof sep !== "boolean")
      throw badRequest(
        `'separate_reasoning' must be a boolean, got ${JSON.stringify(sep)}`,
        "separate_reasoning",
        "invalid_type",
      );
    return sep ? "deepseek" : "none";
  }
  return "auto";
}

export function splitsReasoning(format: ReasoningFormat, thinks: boolean, reasoningFields: boolean): boolean {
  if (format === "none") return false;
  if (format === "deepseek") return true;
  return thinks || reasoningFields;
}
