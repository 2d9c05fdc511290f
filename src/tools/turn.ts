/**
 * One tool-calling turn's model side, shared by the agent loop (llm-agent.ts) and the server's
 * chat route (server/tools.ts): the conversation rendered with the tool definitions through the
 * chat template (prompt.ts) and tokenized (BOS once), the template's tool-call format, whether the
 * model may call tools at all, the token-text mapping that puts dropped call markers back
 * (markers.ts), and the tool-call grammar (lazy under tool_choice "auto", a reasoning block never
 * triggers it). What the caller does with the output (agent messages, OpenAI deltas) stays there.
 */
import type { TokenConstraint } from "../sampling/grammar/index.js";
import type { ChatMessage } from "../tokenizer/chat-template.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import type { ToolFormat } from "./formats.js";
import { droppedMarkers, markerAware } from "./markers.js";
import { buildToolPrompt } from "./prompt.js";
import { thinkingBlock, toolConstraintFactory } from "./tool-grammar.js";
import type { ToolChoice, ToolDefinition } from "./types.js";

export interface ToolTurnOptions {
  toolChoice: ToolChoice;
  /** Built-in chat template name instead of the model's. */
  template?: string;
  /** Extra template variables (enable_thinking, ...). */
  kwargs?: Record<string, unknown>;
}

export class ToolTurnPrompt {
  /** The rendered prompt text. */
  readonly text: string;
  /** Its token ids. */
  readonly ids: number[];
  readonly format: ToolFormat;
  /** Whether the model may call tools in this turn (else its output is plain content). */
  readonly callsTools: boolean;
  /** A generated token's text with dropped control-token markers put back. */
  readonly tokenText: (token: number, text: string) => string;

  /** Throws InputError for invalid tools or messages (the caller maps it to its own error). */
  constructor(
    readonly tok: Tokenizer,
    messages: ChatMessage[],
    readonly tools: ToolDefinition[] | undefined,
    readonly o: ToolTurnOptions,
  ) {
    const { prompt, format } = buildToolPrompt(tok, messages, tools, {
      toolChoice: o.toolChoice,
      template: o.template,
      kwargs: o.kwargs,
    });
    this.text = prompt;
    this.format = format;
    this.callsTools = tools !== undefined && tools.length > 0 && o.toolChoice !== "none";
    this.tokenText = markerAware(this.callsTools ? droppedMarkers(tok, format) : new Map());
    this.ids = tok.encodePrompt(prompt);
  }

  /** What identifies the tool-call grammar of this turn (a cache key for `constraint`). */
  constraintKey(parallel: boolean): string {
    const skip = thinkingBlock(this.tok, this.text);
    return `tools\0${this.format.name}\0${parallel}\0${JSON.stringify(skip)}\0${JSON.stringify(this.o.toolChoice)}\0${JSON.stringify(this.tools)}`;
  }

  /**
   * The tool-call grammar as a constraint factory (one fresh matcher per sample), or undefined
   * when the model may not call tools. Compiling it is the expensive step (up to a few hundred ms
   * on a large vocabulary).
   */
  constraint(parallel: boolean): (() => TokenConstraint) | undefined {
    if (!this.callsTools) return undefined;
    const skip = thinkingBlock(this.tok, this.text);
    return toolConstraintFactory(this.tools!, this.o.toolChoice, this.format, this.tok, parallel, skip);
  }
}
