/**
 * Render a conversation with tools through the model's chat template: tool definitions go in the
 * template's `tools` variable (OpenAI shape, as Hugging Face templates expect), assistant
 * `tool_calls` get their arguments as objects (templates apply `tojson` to them) and `role: "tool"`
 * results pass through. Templates that do not render tools get a system message describing the
 * tools and the Hermes `<tool_call>` format instead.
 */
import { InputError } from "../errors.js";
import { applyChatTemplate, templateFor, type ChatMessage } from "../tokenizer/chat-template.js";
import * as z from "zod";
import { firstIssue } from "../json.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { detectToolFormat, type ToolFormat } from "./formats.js";
import type { ToolChoice, ToolDefinition } from "./types.js";

const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const NAME_RULE = "must match [A-Za-z0-9_.-]{1,64}";
const TOOLS = z
  .array(
    z.looseObject(
      {
        type: z.literal("function", { error: 'must be "function"' }),
        function: z.looseObject(
          {
            name: z.string({ error: NAME_RULE }).regex(TOOL_NAME, { error: NAME_RULE }),
            parameters: z
              .record(z.string(), z.unknown(), { error: "must be a JSON Schema object" })
              .optional(),
          },
          { error: "must be an object {name, description?, parameters?}" },
        ),
      },
      { error: 'must be {type: "function", function: {...}}' },
    ),
    { error: "must be an array" },
  )
  .superRefine((tools, ctx) => {
    const seen = new Set<string>();
    tools.forEach((t, i) => {
      if (seen.has(t.function.name))
        ctx.addIssue({
          code: "custom",
          path: [i, "function", "name"],
          message: `duplicate tool name '${t.function.name}'`,
        });
      seen.add(t.function.name);
    });
  });

/** Checks OpenAI function-tool definitions (a zod schema); the InputError names the JSON path. */
export function validateTools(tools: unknown): asserts tools is ToolDefinition[] {
  const r = TOOLS.safeParse(tools);
  if (r.success) return;
  const { path, message } = firstIssue(r.error);
  const field = `tools${path.startsWith("[") || path === "" ? path : `.${path}`}`;
  throw new InputError(`${field} ${message}`, { field });
}

function normalizeMessage(m: ChatMessage): ChatMessage {
  const calls = (m as { tool_calls?: unknown }).tool_calls;
  if (m.role !== "assistant" || !Array.isArray(calls)) return { ...m, content: m.content ?? "" };
  return {
    ...m,
    content: m.content ?? "",
    tool_calls: calls.map((c: { function?: { name?: string; arguments?: unknown } }) => {
      let args = c.function?.arguments;
      if (typeof args === "string") {
        try {
          args = JSON.parse(args);
        } catch {
          throw new InputError(`tool call arguments are not JSON: ${String(args).slice(0, 80)}`, {
            field: "messages.tool_calls",
          });
        }
      }
      return { ...c, type: "function", function: { ...c.function, arguments: args } };
    }),
  };
}

/**
 * JSON with `", "` and `": "` separators (Python's json.dumps default, the form Hermes/Qwen chat
 * templates write and the tool-call grammar's fixed prefix uses: tool-grammar.ts).
 */
export function spacedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(spacedJson).join(", ")}]`;
  if (typeof v === "object" && v !== null)
    return `{${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}: ${spacedJson(x)}`)
      .join(", ")}}`;
  return JSON.stringify(v) ?? "null";
}

/**
 * One call in the Hermes `<tool_call>` syntax, spaced as the forced-call grammar's fixed prefix
 * `{"name": "calculator", "arguments": {` is (its argument rules accept this spacing too):
 * `{"name": "calculator", "arguments": {"expression": "2 * 3"}}`. The server renders an assistant
 * `tool_calls` turn with it for templates without tool support, and the default model's training
 * data (src/train/data/tools.ts) writes its calls with it, so a call, its grammar and its history
 * turn are the same text.
 */
export function hermesToolCall(name: string, args: unknown): string {
  return `<tool_call>\n${spacedJson({ name, arguments: args })}\n</tool_call>`;
}

const CALL_SYNTAX: Record<ToolFormat["name"], string> = {
  hermes: '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>',
  llama3: '{"name": <function-name>, "parameters": <args-json-object>}',
  mistral: '[TOOL_CALLS][{"name": <function-name>, "arguments": <args-json-object>}]',
  deepseek:
    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜><function-name>\n```json\n<args-json-object>\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
};

/** System text for templates that do not render tools: the tools and the format's call syntax. */
export function fallbackToolSystemPrompt(
  tools: ToolDefinition[],
  format: ToolFormat["name"] = "hermes",
): string {
  return (
    "You may call one or more functions to assist with the user query.\n\n" +
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
    tools.map((t) => JSON.stringify(t)).join("\n") +
    "\n</tools>\n\nTo call a function, reply with:\n" +
    CALL_SYNTAX[format]
  );
}

export interface ToolPrompt {
  prompt: string;
  format: ToolFormat;
}

/** Render messages + tools with the tokenizer's chat template (or a named built-in one). */
export function buildToolPrompt(
  tok: Tokenizer,
  messages: ChatMessage[],
  tools: ToolDefinition[] | undefined,
  opts: { toolChoice?: ToolChoice; template?: string; kwargs?: Record<string, unknown> } = {},
): ToolPrompt {
  const format = detectToolFormat(templateFor(tok, opts.template));
  let msgs = messages.map(normalizeMessage);
  const useTools = tools !== undefined && tools.length > 0 && opts.toolChoice !== "none";
  if (useTools) validateTools(tools);
  if (useTools && !format.nativeTools) {
    const sys = fallbackToolSystemPrompt(tools!, format.name);
    msgs =
      msgs[0]?.role === "system"
        ? [{ ...msgs[0], content: `${String(msgs[0].content)}\n\n${sys}` }, ...msgs.slice(1)]
        : [{ role: "system", content: sys }, ...msgs];
    // A template without tool support cannot render tool turns: show them as plain text.
    msgs = msgs.map((m) =>
      m.role === "tool"
        ? { role: "user", content: `<tool_response>\n${String(m.content)}\n</tool_response>` }
        : Array.isArray((m as { tool_calls?: unknown }).tool_calls)
          ? {
              role: m.role,
              content:
                String(m.content ?? "") +
                (
                  m as unknown as { tool_calls: { function: { name: string; arguments: unknown } }[] }
                ).tool_calls
                  .map((c) => hermesToolCall(c.function.name, c.function.arguments))
                  .join("\n"),
            }
          : m,
    );
  }
  const prompt = applyChatTemplate(tok, msgs, {
    tools: useTools && format.nativeTools ? tools : undefined,
    addGenerationPrompt: true,
    template: opts.template,
    kwargs: opts.kwargs,
  });
  return { prompt, format };
}
