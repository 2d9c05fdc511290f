/**
 * Agent loop: ask the model, run the tool calls it makes, feed the results back as
 * `role: "tool"` messages, and repeat until the model answers without tool calls or the step
 * limit is reached. The model is any function from messages + tool definitions to a parsed
 * turn, so the loop runs against the engine, a remote OpenAI-compatible server or a script.
 */
import { InputError } from "../errors.js";
import type { ChatMessage } from "../tokenizer/chat-template.js";
import type { ToolSet } from "./registry.js";
import type { ParsedTurn, ToolCall, ToolChoice, ToolDefinition } from "./types.js";

export type AgentModel = (
  messages: ChatMessage[],
  tools: ToolDefinition[],
  toolChoice: ToolChoice,
) => Promise<ParsedTurn>;

export type AgentEvent =
  | { type: "assistant"; content: string; toolCalls: ToolCall[] }
  | { type: "tool_result"; call: ToolCall; result: string };

export interface AgentOptions {
  model: AgentModel;
  tools: ToolSet;
  messages: ChatMessage[];
  /** Model calls at most (default 8). */
  maxSteps?: number;
  toolChoice?: ToolChoice;
  onEvent?: (e: AgentEvent) => void;
  signal?: AbortSignal;
}

export interface AgentResult {
  /** The whole conversation, including assistant tool calls and tool results. */
  messages: ChatMessage[];
  /** The last assistant content. */
  final: string;
  steps: number;
  stopReason: "final" | "max_steps";
}

export async function runAgent(o: AgentOptions): Promise<AgentResult> {
  const maxSteps = o.maxSteps ?? 8;
  if (!Number.isInteger(maxSteps) || maxSteps < 1)
    throw new InputError("maxSteps must be a positive integer");
  const messages = [...o.messages];
  let final = "";
  for (let step = 1; step <= maxSteps; step++) {
    if (o.signal?.aborted) throw new InputError("agent run aborted");
    // On the last step tools are withheld so the model has to answer.
    const last = step === maxSteps;
    const turn = await o.model(
      messages,
      last ? [] : o.tools.definitions,
      last ? "none" : (o.toolChoice ?? "auto"),
    );
    final = turn.content;
    const calls = last ? [] : turn.toolCalls;
    messages.push({
      role: "assistant",
      content: turn.content,
      ...(calls.length ? { tool_calls: calls } : {}),
    });
    o.onEvent?.({ type: "assistant", content: turn.content, toolCalls: calls });
    if (calls.length === 0)
      return {
        messages,
        final,
        steps: step,
        stopReason: last && turn.toolCalls.length ? "max_steps" : "final",
      };
    for (const c of calls) {
      const result = await o.tools.call(c, o.signal);
      messages.push({ role: "tool", tool_call_id: c.id, name: c.function.name, content: result });
      o.onEvent?.({ type: "tool_result", call: c, result });
    }
  }
  return { messages, final, steps: maxSteps, stopReason: "max_steps" };
}
