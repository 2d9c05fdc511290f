/**
 * Tool calling and constrained output on /v1/chat/completions, kept out of the route:
 *  - request fields validated at the edge: `tools`, `tool_choice` (auto | none | required |
 *    {type: "function", function: {name}}), `parallel_tool_calls`, `response_format`
 *    ({type: "text" | "json_object" | "json_schema"}); the schema is compiled here so an
 *    unsupported keyword is a 400 naming it, before any decoding;
 *  - assistant `tool_calls` and `role: "tool"` messages carried into the template;
 *  - the prompt rendered with the tool definitions through the model's chat template;
 *  - a constraint per sample (tool-call grammar in the template's format, lazy for "auto"; or
 *    the response_format grammar), so calls and JSON always parse;
 *  - the output turned into `message.tool_calls` + `finish_reason: "tool_calls"`, or streamed
 *    as `delta.tool_calls` chunks the way OpenAI sends them (a call's first chunk carries id,
 *    type and name, then its arguments text arrives piece by piece as it is generated).
 * Tools offered by the server itself (`serve --mcp`, see server/mcp.ts) live in `serverTools`.
 */
import type { GenerateOptions, LLM } from "../engine/llm.js";
import { InputError } from "../errors.js";
import {
  compileGrammar,
  GrammarMatcher,
  gbnfForResponseFormat,
  type ResponseFormat,
  type TokenConstraint,
} from "../sampling/grammar/index.js";
import type { ChatMessage } from "../tokenizer/chat-template.js";
import type { ToolFormat } from "../tools/formats.js";
import { ToolTurnPrompt } from "../tools/turn.js";
import { completionMessage, streamDeltas } from "../tools/openai.js";
import { parseToolCalls } from "../tools/parse.js";
import { validateTools } from "../tools/prompt.js";
import type { ToolSet } from "../tools/registry.js";
import { createToolCallStreamParser, type ToolCallStreamParser } from "../tools/stream.js";
import type { ToolCall, ToolChoice, ToolDefinition } from "../tools/types.js";
import { badRequest } from "./openai/errors.js";
import { checkGrammarLimits } from "./openai/limits.js";
import type { ChatRequest } from "./openai/types.js";
import * as z from "zod";
import { firstIssue, isObj, type Obj } from "../json.js";

export interface ToolFields {
  /** Tool definitions offered to the model (the request's, else the server's MCP tools). */
  tools: ToolDefinition[] | undefined;
  toolChoice: ToolChoice;
  parallel: boolean;
  /** GBNF of a json_object / json_schema response_format. */
  formatGbnf: string | undefined;
  /** Set when the tools are the server's own (MCP): the server runs the calls. */
  serverTools: ToolSet | undefined;
  /** Whether any message carries tool_calls or a tool result. */
  toolMessages: boolean;
}

/** InputError from the tools/grammar library -> 400 naming the parameter. */
function as400<T>(param: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof InputError) throw badRequest(`${param}: ${e.message}`, param, "invalid_value");
    throw e;
  }
}

const TOOL_CHOICE_SHAPE =
  "'tool_choice' must be 'auto', 'none', 'required' or {type: 'function', function: {name}}";
const TOOL_CHOICE = z.union(
  [
    z.enum(["auto", "none", "required"]),
    z.object({ type: z.literal("function"), function: z.object({ name: z.string() }) }),
  ],
  { error: TOOL_CHOICE_SHAPE },
);

/** `tool_choice`: its shape by schema, then the rules against the offered tools. */
function parseToolChoice(v: unknown, tools: ToolDefinition[] | undefined): ToolChoice {
  if (v === undefined || v === null) return tools?.length ? "auto" : "none";
  const r = TOOL_CHOICE.safeParse(v);
  if (!r.success) throw badRequest(TOOL_CHOICE_SHAPE, "tool_choice", "invalid_type");
  const c = r.data;
  if (typeof c === "string") {
    if (c !== "none" && !tools?.length) throw badRequest(`'tool_choice' '${c}' needs 'tools'`, "tool_choice");
    return c;
  }
  const name = c.function.name;
  if (!tools?.some((t) => t.function.name === name))
    throw badRequest(
      `'tool_choice' names function '${name}', which is not in 'tools'`,
      "tool_choice",
      "invalid_value",
    );
  return { type: "function", function: { name } };
}

const RESPONSE_FORMAT = z.looseObject(
  {
    type: z.enum(["text", "json_object", "json_schema"], {
      error: (iss) =>
        `unknown response_format type '${String(iss.input)}' (one of: text, json_object, json_schema)`,
    }),
  },
  { error: "'response_format' must be an object" },
);

function parseResponseFormat(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const r = RESPONSE_FORMAT.safeParse(v);
  if (!r.success) {
    const { path, message } = firstIssue(r.error);
    const param = path ? `response_format.${path}` : "response_format";
    throw badRequest(message, param, path ? "invalid_value" : "invalid_type");
  }
  return as400("response_format", () => gbnfForResponseFormat(v as unknown as ResponseFormat));
}

/**
 * The tool/format fields of a chat request, or undefined when it uses none of them (the route
 * then runs exactly as before). `serverTools` are offered only when the request has no `tools`.
 */
export function parseToolFields(
  body: unknown,
  r: ChatRequest,
  serverTools?: ToolSet,
): ToolFields | undefined {
  const b = body as Obj;
  checkGrammarLimits(b); // tool-list bytes, property counts: before any grammar work
  const raw = b.tools;
  let tools: ToolDefinition[] | undefined;
  if (raw !== undefined && raw !== null) {
    as400("tools", () => validateTools(raw));
    tools = (raw as ToolDefinition[]).length ? (raw as ToolDefinition[]) : undefined;
  }
  const pt = b.parallel_tool_calls;
  if (pt !== undefined && pt !== null && typeof pt !== "boolean")
    throw badRequest("'parallel_tool_calls' must be a boolean", "parallel_tool_calls", "invalid_type");
  const formatGbnf = parseResponseFormat(b.response_format);
  const msgs = Array.isArray(b.messages) ? (b.messages as unknown[]) : [];
  const toolMessages = msgs.some((m) => isObj(m) && (m.role === "tool" || m.tool_calls !== undefined));
  let offered = tools;
  let server: ToolSet | undefined;
  if (
    !tools &&
    serverTools &&
    serverTools.definitions.length > 0 &&
    b.tool_choice !== "none" &&
    formatGbnf === undefined
  ) {
    offered = serverTools.definitions;
    server = serverTools;
  }
  const toolChoice = parseToolChoice(b.tool_choice, offered);
  if (!offered && formatGbnf === undefined && !toolMessages && b.tool_choice === undefined) return undefined;
  if (formatGbnf !== undefined && offered && toolChoice !== "none")
    throw badRequest(
      "'response_format' with 'tools' is not supported; send tool_choice 'none' or leave one out",
      "response_format",
      "unsupported",
    );
  const strategy = r.thinking?.strategy;
  if (strategy && strategy.name !== "greedy" && (offered || formatGbnf !== undefined))
    throw badRequest(
      `'reasoning.strategy' '${strategy.name}' cannot be combined with tools or response_format`,
      "reasoning",
      "unsupported",
    );
  return {
    tools: offered,
    toolChoice,
    parallel: pt !== false,
    formatGbnf,
    serverTools: server,
    toolMessages,
  };
}

/** Validated messages + the raw ones' tool_calls / tool_call_id / name (validateChat keeps text only). */
export function withToolMessages(body: unknown, messages: ChatMessage[]): ChatMessage[] {
  const raw = (body as Obj).messages as unknown[];
  return messages.map((m, i) => {
    const r = raw[i] as Obj;
    const out: ChatMessage = { ...m };
    if (r.tool_calls !== undefined && r.tool_calls !== null) {
      const p = `messages[${i}].tool_calls`;
      if (m.role !== "assistant") throw badRequest(`${p} is only allowed on assistant messages`, p);
      if (!Array.isArray(r.tool_calls)) throw badRequest(`${p} must be an array`, p, "invalid_type");
      out.tool_calls = r.tool_calls.map((c, j): ToolCall => {
        const f = isObj(c) ? c.function : undefined;
        if (!isObj(c) || !isObj(f) || typeof f.name !== "string" || typeof f.arguments !== "string")
          throw badRequest(
            `${p}[${j}] must be {id, type: "function", function: {name, arguments: string}}`,
            p,
            "invalid_type",
          );
        return {
          id: typeof c.id === "string" ? c.id : `call_${i}_${j}`,
          type: "function",
          function: { name: f.name, arguments: f.arguments },
        };
      });
    }
    if (m.role === "tool") {
      if (typeof r.tool_call_id !== "string")
        throw badRequest(
          `messages[${i}].tool_call_id is required on tool messages`,
          `messages[${i}].tool_call_id`,
          "invalid_type",
        );
      out.tool_call_id = r.tool_call_id;
      if (typeof r.name === "string") out.name = r.name;
    }
    return out;
  });
}

/**
 * Compiled grammars per vocabulary, by key (response_format GBNF text, or the tool set + choice +
 * format): their token masks are cached per grammar state, so a client that sends the same
 * schema or tools every turn (agents do) skips the trie walks (~10 ms each on a 150k vocabulary)
 * after the first request. At most 16 per vocabulary, oldest dropped.
 */
const compiled = new WeakMap<object, Map<string, unknown>>();
function cached<T>(llm: LLM, key: string, build: () => T): T {
  let per = compiled.get(llm.tokenizer);
  if (!per) compiled.set(llm.tokenizer, (per = new Map()));
  let g = per.get(key) as T | undefined;
  if (g === undefined) {
    g = build();
    if (per.size >= 16) per.delete(per.keys().next().value!);
    per.set(key, g);
  }
  return g;
}

/** Per-choice streaming state: the tool-call parser and whether a call was emitted. */
interface ChoiceStream {
  parser: ToolCallStreamParser;
  called: boolean;
}

/** One request's tool turn: the shared model side (tools/turn.ts), grammar caching, OpenAI output shaping. */
export class ToolTurn {
  readonly prompt: number[];
  readonly format: ToolFormat;
  readonly messages: ChatMessage[];
  private makeConstraint: (() => TokenConstraint) | undefined;
  private readonly turn: ToolTurnPrompt;
  private readonly streams = new Map<number, ChoiceStream>();
  /** A generated token's text with dropped control-token markers put back (markers.ts). */
  readonly tokenText: (token: number, text: string) => string;

  constructor(
    readonly llm: LLM,
    readonly f: ToolFields,
    messages: ChatMessage[],
    readonly kwargs?: Record<string, unknown>,
  ) {
    this.messages = messages;
    this.turn = as400(
      "messages",
      () => new ToolTurnPrompt(llm.tokenizer, messages, f.tools, { toolChoice: f.toolChoice, kwargs }),
    );
    this.format = this.turn.format;
    this.tokenText = this.turn.tokenText;
    this.prompt = this.turn.ids;
  }

  /**
   * Compiles the constraint (response_format grammar or tool-call grammar). The expensive step
   * (up to a few hundred ms on a large vocabulary), so the route calls it only after the cheap
   * checks (context length, queue room) have passed.
   */
  compile(): this {
    const { f, llm, turn } = this;
    if (f.formatGbnf !== undefined) {
      const gbnf = f.formatGbnf;
      const tg = cached(llm, `format\0${gbnf}`, () => compileGrammar(gbnf, llm.tokenizer));
      this.makeConstraint = () => new GrammarMatcher(tg);
    } else if (turn.callsTools) {
      const key = turn.constraintKey(f.parallel);
      this.makeConstraint = as400("tools", () => cached(llm, key, () => turn.constraint(f.parallel)));
    }
    return this;
  }

  /** Whether the model may call tools in this turn (else the output is plain content). */
  get callsTools(): boolean {
    return this.turn.callsTools;
  }

  /** GenerateOptions additions: a fresh constraint per sample. */
  options(): Partial<GenerateOptions> {
    const mk = this.makeConstraint;
    return mk ? { constraint: () => mk() } : {};
  }

  /** Non-streaming: message fields and finish reason for one choice's content text. */
  message(
    content: string | null,
    finish: string,
  ): { message: { content: string | null; tool_calls?: ToolCall[] }; finish_reason: string } {
    if (!this.callsTools || content === null) return { message: { content }, finish_reason: finish };
    const m = completionMessage(parseToolCalls(content, this.format));
    return { message: m.message, finish_reason: m.finish_reason === "tool_calls" ? "tool_calls" : finish };
  }

  /** Streaming: content text of one choice -> the `delta` objects to send (may be none). */
  push(index: number, text: string): Record<string, unknown>[] {
    if (!this.callsTools) return text ? [{ content: text }] : [];
    const s = this.stream(index);
    const ev = s.parser.push(text);
    if (ev.toolCalls.length) s.called = true;
    return streamDeltas(ev);
  }

  /** Streaming: the choice ended; flush held text and map the finish reason. */
  end(index: number, finish: string): { deltas: Record<string, unknown>[]; finish_reason: string } {
    if (!this.callsTools) return { deltas: [], finish_reason: finish };
    const s = this.stream(index);
    const ev = s.parser.end();
    if (ev.toolCalls.length) s.called = true;
    // A call cut by max_tokens ends the stream with "length", as OpenAI reports it.
    return {
      deltas: streamDeltas(ev),
      finish_reason: s.called && !s.parser.truncatedCall ? "tool_calls" : finish,
    };
  }

  private stream(index: number): ChoiceStream {
    let s = this.streams.get(index);
    // Constrained output: arguments stream piece by piece (the grammar guarantees they parse).
    if (!s)
      this.streams.set(
        index,
        (s = {
          parser: createToolCallStreamParser(this.format, { incremental: this.makeConstraint !== undefined }),
          called: false,
        }),
      );
    return s;
  }
}

/** The request's tool turn, or undefined when it uses no tools, tool messages or response_format. */
export function toolTurn(
  llm: LLM,
  body: unknown,
  r: ChatRequest,
  kwargs?: Record<string, unknown>,
  serverTools?: ToolSet,
): ToolTurn | undefined {
  const f = parseToolFields(body, r, serverTools);
  if (!f) return undefined;
  return new ToolTurn(llm, f, withToolMessages(body, r.messages), kwargs);
}
