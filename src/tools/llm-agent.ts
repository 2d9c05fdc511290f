/**
 * AgentModel over the library's LLM (src/engine/llm.ts): render messages + tools with the chat
 * template (the tool turn in turn.ts, shared with the server), generate under the tool-call grammar of the template's format
 * (lazy for tool_choice "auto": free text until a call starts, then the call and its arguments
 * are constrained by the tool's schema), and parse the reply with the same format, so a started
 * call always parses. Streamed text goes through the tool-call stream parser: onText sees the
 * content only, never the call markup.
 */
import type { LLM } from "../engine/llm.js";
import type { AgentModel } from "./agent.js";
import { parseToolCalls } from "./parse.js";
import { createToolCallStreamParser } from "./stream.js";
import { ToolTurnPrompt } from "./turn.js";

export interface LlmAgentOptions {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  /** Built-in chat template name instead of the model's. */
  template?: string;
  /** Called with each piece of generated content (call markup left out), for streaming UIs. */
  onText?: (text: string) => void;
  /** Constrain tool calls by their grammar (default true). */
  constrain?: boolean;
  /** Allow several calls in one turn (default true). */
  parallel?: boolean;
  signal?: AbortSignal;
}

export function llmAgentModel(llm: LLM, opts: LlmAgentOptions = {}): AgentModel {
  return async (messages, tools, toolChoice) => {
    const turn = new ToolTurnPrompt(llm.tokenizer, messages, tools, { toolChoice, template: opts.template });
    const { format, callsTools } = turn;
    const make = opts.constrain !== false ? turn.constraint(opts.parallel ?? true) : undefined;
    const parser = callsTools ? createToolCallStreamParser(format) : undefined;
    const show = (t: string) => t && opts.onText?.(t);
    let text = "";
    for await (const c of llm.generate(turn.ids, {
      maxTokens: opts.maxTokens ?? 512,
      temperature: opts.temperature ?? 0,
      topP: opts.topP,
      seed: opts.seed,
      signal: opts.signal,
      constraint: make && (() => make()),
    })) {
      if (c.index !== 0) continue;
      const t = c.type === "token" ? turn.tokenText(c.token, c.text) : c.text;
      text += t;
      if (t) show(parser ? parser.push(t).content : t);
    }
    if (parser) show(parser.end().content);
    return callsTools ? parseToolCalls(text, format) : { content: text.trim(), toolCalls: [] };
  };
}
