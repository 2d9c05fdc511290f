/**
 * AgentModel over the library's LLM (src/engine/llm.ts): render messages + tools with the chat
 * template (buildToolPrompt), generate, and parse the reply with the template's tool-call format.
 *
 * The engine has no per-request logits hook yet, so generation here is unconstrained and the
 * parser does the rest; once SequenceRequest takes a `TokenConstraint` (GrammarMatcher or
 * LazyGrammarMatcher from grammarForTools), pass it to get calls that always parse.
 */
import type { LLM } from "../engine/llm.js";
import type { AgentModel } from "./agent.js";
import { parseToolCalls } from "./parse.js";
import { buildToolPrompt } from "./prompt.js";

export interface LlmAgentOptions {
  maxTokens?: number;
  temperature?: number;
  seed?: number;
  /** Built-in chat template name instead of the model's. */
  template?: string;
  /** Called with each piece of generated text (for streaming UIs). */
  onText?: (text: string) => void;
}

export function llmAgentModel(llm: LLM, opts: LlmAgentOptions = {}): AgentModel {
  return async (messages, tools, toolChoice) => {
    const tok = llm.tokenizer;
    const { prompt, format } = buildToolPrompt(tok, messages, tools, { toolChoice, template: opts.template });
    const bos = tok.bos >= 0 ? tok.tokenText(tok.bos) : undefined;
    const ids = tok.encode(prompt, { addSpecial: !(bos && prompt.startsWith(bos)), parseSpecial: true });
    let text = "";
    for await (const c of llm.generate(ids, {
      maxTokens: opts.maxTokens ?? 512,
      temperature: opts.temperature ?? 0,
      seed: opts.seed,
    })) {
      if (c.index !== 0) continue;
      text += c.text;
      if (c.text) opts.onText?.(c.text);
    }
    return toolChoice === "none" || tools.length === 0
      ? { content: text.trim(), toolCalls: [] }
      : parseToolCalls(text, format);
  };
}
