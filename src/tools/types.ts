/** OpenAI chat-completions tool types (the wire shapes the server and clients use). */

export interface FunctionDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters?: Record<string, unknown>;
  strict?: boolean | null;
}

export interface ToolDefinition {
  type: "function";
  function: FunctionDefinition;
}

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export type ToolChoice = "auto" | "none" | "required" | { type: "function"; function: { name: string } };

/** A parsed model turn: free text plus any tool calls. */
export interface ParsedTurn {
  content: string;
  toolCalls: ToolCall[];
}

/** Streaming tool-call delta, shaped like OpenAI's `choices[0].delta.tool_calls[i]`. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments?: string };
}

/** What a streaming parser emits per text chunk. */
export interface StreamEvents {
  content: string;
  toolCalls: ToolCallDelta[];
}

/** A tool-call id in OpenAI's style ("call_" + 24 random alphanumerics). */
export function newToolCallId(): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = "call_";
  for (let i = 0; i < 24; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}
