/**
 * Which messages of a conversation the model still sees when it outgrows the context: a leading
 * system message is always kept, and the oldest whole turns (a user message and everything up to
 * the next user message) go first, never the last message. Pure; shared by ChatSession (chat
 * CLI, library) and the server's opt-in `truncate: "oldest_turns"`.
 */
import type { ChatMessage } from "../tokenizer/chat-template.js";

/** The system message (if first) and the messages from index `first` on. */
export function chatWindow(messages: readonly ChatMessage[], first: number): ChatMessage[] {
  const sys = messages[0]?.role === "system" ? 1 : 0;
  return [...messages.slice(0, sys), ...messages.slice(Math.max(sys, first))];
}

export interface FittedWindow {
  /** Index of the oldest non-system message kept. */
  first: number;
  /** encode(chatWindow(messages, first)). */
  prompt: number[];
  /** Messages dropped by this call. */
  dropped: number;
}

/** Drop the oldest turns from index `first` until the encoded window has at most `limit` tokens (or one turn is left). */
export function dropOldestTurns(
  messages: readonly ChatMessage[],
  first: number,
  limit: number,
  encode: (window: ChatMessage[]) => number[],
): FittedWindow {
  const sys = messages[0]?.role === "system" ? 1 : 0;
  const last = messages.length - 1;
  let prompt = encode(chatWindow(messages, first));
  let dropped = 0;
  while (prompt.length > limit && Math.max(sys, first) < last) {
    let f = Math.max(sys, first) + 1;
    while (f < last && messages[f].role !== "user") f++;
    dropped += f - Math.max(sys, first);
    first = f;
    prompt = encode(chatWindow(messages, first));
  }
  return { first, prompt, dropped };
}
