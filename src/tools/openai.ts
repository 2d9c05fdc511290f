/**
 * OpenAI chat-completions response shapes for a parsed turn, non-streaming and streaming, so the
 * server (and tests) emit exactly what OpenAI clients parse: `message.tool_calls` with
 * `finish_reason: "tool_calls"`, and `delta.tool_calls` chunks (index, id, type, function.name
 * on a call's first chunk; function.arguments pieces after).
 */
import type { ParsedTurn, StreamEvents } from "./types.js";

export function completionMessage(turn: ParsedTurn): {
  message: { role: "assistant"; content: string | null; tool_calls?: ParsedTurn["toolCalls"] };
  finish_reason: "stop" | "tool_calls";
} {
  const has = turn.toolCalls.length > 0;
  return {
    message: {
      role: "assistant",
      content: has && turn.content === "" ? null : turn.content,
      ...(has ? { tool_calls: turn.toolCalls } : {}),
    },
    finish_reason: has ? "tool_calls" : "stop",
  };
}

/** The `delta` objects for one batch of stream events (empty array when nothing to send). */
export function streamDeltas(ev: StreamEvents): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (ev.content) out.push({ content: ev.content });
  for (const d of ev.toolCalls) out.push({ tool_calls: [d] });
  return out;
}
