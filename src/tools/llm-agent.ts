/**
 * AgentModel over the library's LLM (src/engine/llm.ts): render messages + tools with the chat
 * template (buildToolPrompt), generate under the tool-call grammar of the template's format
 * (lazy for tool_choice "auto": free text until a call starts, then the call and its arguments
 * are constrained by the tool's schema), and parse the reply with the same format, so a started
 * call always parses. Streamed text goes through the tool-call stream parser: onText sees the
 * content only, never the call markup.
 */
import type { LLM } from "../engine/llm.js";
import type { AgentModel } from "./agent.js";
import { parseToolCalls } from "./parse.js";
import { buildToolPrompt } from "./prompt.js";
import { createToolCallStreamParser } from "./stream.js";
import { thinkingBlock, toolConstraintFactory } from "./tool-grammar.js";
import { droppedMarkers, markerAware } from "./markers.js";

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
    const tok = llm.tokenizer;
    const { prompt, format } = buildToolPrompt(tok, messages, tools, { toolChoice, template: opts.template });
    const bos = tok.bos >= 0 ? tok.tokenText(tok.bos) : undefined;
    const ids = tok.encode(prompt, { addSpecial: !(bos && prompt.startsWith(bos)), parseSpecial: true });
    const useTools = toolChoice !== "none" && tools.length > 0;
    const make =
      useTools && opts.constrain !== false
        ? toolConstraintFactory(
            tools,
            toolChoice,
            format,
            tok,
            opts.parallel ?? true,
            thinkingBlock(tok, prompt),
          )
        : undefined;
    const parser = useTools ? createToolCallStreamParser(format) : undefined;
    const show = (t: string) => t && opts.onText?.(t);
    const tokenText = markerAware(useTools ? droppedMarkers(tok, format) : new Map());
    let text = "";
    for await (const c of llm.generate(ids, {
      maxTokens: opts.maxTokens ?? 512,
      temperature: opts.temperature ?? 0,
      topP: opts.topP,
      seed: opts.seed,
      signal: opts.signal,
      constraint: make && (() => make()),
    })) {
      if (c.index !== 0) continue;
      const t = c.type === "token" ? tokenText(c.token, c.text) : c.text;
      text += t;
      if (t) show(parser ? parser.push(t).content : t);
    }
    if (parser) show(parser.end().content);
    return useTools ? parseToolCalls(text, format) : { content: text.trim(), toolCalls: [] };
  };
}
