/**
 * Thinking budget, enforced during decoding. A forcing hook (the engine calls it before every
 * sampling step, SequenceRequest.forceToken) counts the tokens generated inside the thinking
 * block; when the budget is reached it emits, one per step, the tokens of an optional short
 * "time to answer" nudge and then the close tag `</think>`, after which sampling resumes and the
 * model writes its answer. The nudge counts against the budget (it sits inside the block), so
 * the thinking part is never longer than `budget` tokens (tags excluded).
 *
 * The hook is stateless: it derives everything from the token list, so one hook serves all
 * samples of a request and survives preemption/recomputation. Tags are token sequences (one
 * special token in most vocabularies, several ordinary ones in a byte-level toy vocabulary).
 */
import { InputError } from "../errors.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";

export interface ThinkingTags {
  /** Token ids of `<think>` and `</think>`. */
  open: number[];
  close: number[];
}

export const DEFAULT_NUDGE = "\nTime to answer.\n";

/** Tag ids from a tokenizer (special tokens parsed). */
export function thinkingTags(tok: Tokenizer, open = "<think>", close = "</think>"): ThinkingTags {
  const enc = (s: string) => tok.encode(s, { addSpecial: false, parseSpecial: true });
  const t = { open: enc(open), close: enc(close) };
  if (t.open.length === 0 || t.close.length === 0) throw new InputError("the thinking tags encode to no tokens", { field: "thinking_budget" });
  return t;
}

/** Index just past the first occurrence of `needle` in hay[from..to), or -1. */
export function findSeq(hay: readonly number[], needle: readonly number[], from = 0, to = hay.length): number {
  outer: for (let i = from; i + needle.length <= to; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i + needle.length;
  }
  return -1;
}

/** Index just past the last occurrence of `needle` in hay[from..to), or -1. */
function findLastSeq(hay: readonly number[], needle: readonly number[], from: number, to: number): number {
  for (let i = to - needle.length; i >= from; i--) {
    let ok = true;
    for (let j = 0; j < needle.length && ok; j++) ok = hay[i + j] === needle[j];
    if (ok) return i + needle.length;
  }
  return -1;
}

/** Does the prompt leave a thinking block open (template wrote `<think>` in the generation prompt)? */
export function promptOpensThinking(prompt: readonly number[], tags: ThinkingTags, promptLen = prompt.length): boolean {
  const o = findLastSeq(prompt, tags.open, 0, promptLen);
  return o >= 0 && findSeq(prompt, tags.close, o, promptLen) < 0;
}

export interface BudgetOptions {
  /** Most tokens inside the thinking block. 0 closes it at once. */
  budget: number;
  tags: ThinkingTags;
  /** Tokens of the nudge written before `</think>` when the budget runs out ([] = none). Dropped if longer than the budget. */
  nudge?: number[];
}

/** Where thinking stands in a token list. */
export interface ThinkingState {
  /** Generated index where thinking content starts (after `<think>`), or -1 if not opened. */
  start: number;
  /** Generated index just past `</think>`, or -1 while open. */
  end: number;
}

/** Locate the thinking block among the generated tokens (tokens[promptLen..]). */
export function thinkingState(tokens: readonly number[], promptLen: number, tags: ThinkingTags, opensInPrompt: boolean): ThinkingState {
  let s = opensInPrompt ? promptLen : findSeq(tokens, tags.open, promptLen);
  if (s < 0) return { start: -1, end: -1 };
  const e = findSeq(tokens, tags.close, s);
  return { start: s - promptLen, end: e < 0 ? -1 : e - promptLen };
}

/** The engine hook that enforces the budget. */
export function budgetForcer(o: BudgetOptions): (tokens: readonly number[], promptLen: number) => number | undefined {
  if (!Number.isInteger(o.budget) || o.budget < 0) throw new InputError(`thinking_budget must be an integer >= 0, got ${o.budget}`, { field: "thinking_budget" });
  const nudge = o.nudge && o.nudge.length <= o.budget ? o.nudge : [];
  const forced = [...nudge, ...o.tags.close];
  const freeTokens = o.budget - nudge.length; // sampled thinking tokens before the nudge begins
  let opens: { promptLen: number; value: boolean } | undefined; // the prompt is the same for every call of a request
  return (tokens, promptLen) => {
    if (!opens || opens.promptLen !== promptLen) opens = { promptLen, value: promptOpensThinking(tokens, o.tags, promptLen) };
    const st = thinkingState(tokens, promptLen, o.tags, opens.value);
    if (st.start < 0 || st.end >= 0) return undefined;
    const inside = tokens.length - promptLen - st.start; // thinking tokens so far
    const j = inside - freeTokens;
    return j >= 0 && j < forced.length ? forced[j] : undefined;
  };
}
