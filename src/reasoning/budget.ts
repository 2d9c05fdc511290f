/**
 * Thinking budget, enforced during decoding. A forcing hook (the engine calls it before every
 * sampling step, SequenceRequest.forceToken) counts the tokens generated inside the thinking
 * block; when the budget is reached it emits, one per step, the tokens of an optional short
 * "time to answer" nudge and then the close tag `</think>`, after which sampling resumes and the
 * model writes its answer. The nudge counts against the budget (it sits inside the block), so
 * the thinking part is never longer than `budget` tokens (tags excluded). An optional answer
 * prefix (e.g. "The answer is", as s1's budget forcing appends "Final Answer:") is forced right
 * after the close, so a model that would go on reasoning past `</think>` commits to an answer.
 *
 * Tags are found in the decoded bytes, not as token-id sequences: in a vocabulary where
 * `<think>` is one special token this is the same thing, but in one where it is several
 * ordinary tokens, BPE merges it with its neighbours ("\n<" or ">\n") differently in context
 * than alone. A ThinkingScanner follows one token stream incrementally; the hook keeps one per
 * sequence (keyed by the engine's token array, which lives as long as the sequence).
 */
import { InputError } from "../errors.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";

export const THINK_OPEN = "<think>";
export const THINK_CLOSE = "</think>";
export const DEFAULT_NUDGE = "\nTime to answer.";

/** One token's bytes as a binary string (ASCII tags stay readable; no UTF-8 state needed). */
export type PieceFn = (id: number) => string;

export function tokenizerPiece(tok: Tokenizer): PieceFn {
  const cache = new Map<number, string>();
  return (id) => {
    let s = cache.get(id);
    if (s === undefined) {
      s = String.fromCharCode(...tok.tokenBytes(id, true));
      cache.set(id, s);
    }
    return s;
  };
}

/** Where thinking stands in a generated token stream (indices into the generated tokens). */
export interface ThinkingState {
  /** First token after the opening tag (0 when the prompt opened it), or -1 if not opened. */
  start: number;
  /** Just past the token that completed `</think>`, or -1 while open. */
  end: number;
}

/** Incremental tag finder over one sequence's generated tokens. */
export class ThinkingScanner {
  private buf = "";
  private n = 0;
  readonly state: ThinkingState;

  constructor(
    private readonly piece: PieceFn,
    opensInPrompt: boolean,
  ) {
    this.state = { start: opensInPrompt ? 0 : -1, end: -1 };
  }

  /** Tokens seen. */
  get length(): number {
    return this.n;
  }

  push(id: number): void {
    this.n++;
    if (this.state.end >= 0) return;
    this.buf += this.piece(id);
    for (;;) {
      const tag = this.state.start < 0 ? THINK_OPEN : THINK_CLOSE;
      const i = this.buf.indexOf(tag);
      if (i < 0) break;
      this.buf = this.buf.slice(i + tag.length);
      if (this.state.start < 0) this.state.start = this.n;
      else {
        this.state.end = this.n;
        return;
      }
    }
    if (this.buf.length > 16) this.buf = this.buf.slice(-16); // longer than any tag prefix
  }

  /** Tokens of the thinking block (tags included when generated), for usage accounting. */
  reasoningTokens(): number {
    if (this.state.start < 0) return 0;
    return this.state.end >= 0 ? this.state.end : this.n;
  }
}

/** Does the prompt text leave a thinking block open? */
export function textOpensThinking(text: string): boolean {
  const o = text.lastIndexOf(THINK_OPEN);
  return o >= 0 && text.indexOf(THINK_CLOSE, o) < 0;
}

export function promptOpensThinking(
  prompt: readonly number[],
  piece: PieceFn,
  promptLen = prompt.length,
): boolean {
  let s = "";
  for (let i = 0; i < promptLen; i++) s += piece(prompt[i]);
  return textOpensThinking(s);
}

/** Scan a whole generated list at once. */
export function thinkingState(
  generated: readonly number[],
  piece: PieceFn,
  opensInPrompt: boolean,
): ThinkingState {
  const s = new ThinkingScanner(piece, opensInPrompt);
  for (const id of generated) s.push(id);
  return s.state;
}

export interface BudgetOptions {
  /** Most tokens inside the thinking block. 0 closes it at once. */
  budget: number;
  /** Token ids written to close the block (the encoding of `</think>`). */
  close: number[];
  piece: PieceFn;
  /** Tokens of the nudge written before the close ([] = none). Dropped if longer than the budget. */
  nudge?: number[];
  /** Newline tokens written before and after a forced `</think>` (the usual "\n</think>\n" layout); [] = none. */
  newline?: number[];
  /** Tokens forced right after a forced close ([] = none). */
  answerPrefix?: number[];
}

/** Budget options from a tokenizer. */
export function budgetFor(
  tok: Tokenizer,
  budget: number,
  nudge: string | false = DEFAULT_NUDGE,
  answerPrefix?: string,
): BudgetOptions {
  const close = tok.encode(THINK_CLOSE, { addSpecial: false, parseSpecial: true });
  if (close.length === 0)
    throw new InputError("the vocabulary cannot write </think>", { field: "thinking_budget" });
  return {
    budget,
    close,
    piece: tokenizerPiece(tok),
    nudge: nudge === false ? [] : tok.encode(nudge, { addSpecial: false, parseSpecial: false }),
    newline: tok.encode("\n", { addSpecial: false, parseSpecial: false }),
    answerPrefix: answerPrefix ? tok.encode(answerPrefix, { addSpecial: false, parseSpecial: false }) : [],
  };
}

/** The engine hook that enforces the budget. */
export function budgetForcer(
  o: BudgetOptions,
): (tokens: readonly number[], promptLen: number) => number | undefined {
  if (!Number.isInteger(o.budget) || o.budget < 0)
    throw new InputError(`thinking_budget must be an integer >= 0, got ${o.budget}`, {
      field: "thinking_budget",
    });
  if (o.close.length === 0) throw new InputError("the close tag has no tokens", { field: "thinking_budget" });
  // Inside the block (counted against the budget): nudge + newline, or what of them fits.
  const nl = o.newline ?? [];
  const nudge = o.nudge ?? [];
  const inner = o.budget >= nudge.length + nl.length ? [...nudge, ...nl] : o.budget >= nl.length ? nl : [];
  const forced = [...inner, ...o.close, ...nl, ...(o.answerPrefix ?? [])];
  const closedAt = o.budget + o.close.length; // thinking-relative index just past a forced close
  const freeTokens = o.budget - inner.length; // sampled thinking tokens before the forced ones begin
  // Per sequence: its scanner. The engine's token array is the sequence's own, kept for its life.
  const scanners = new WeakMap<readonly number[], ThinkingScanner>();
  return (tokens, promptLen) => {
    let sc = scanners.get(tokens);
    if (!sc) {
      // Once per sequence: does its prompt leave the block open?
      sc = new ThinkingScanner(o.piece, promptOpensThinking(tokens, o.piece, promptLen));
      scanners.set(tokens, sc);
    }
    for (let i = promptLen + sc.length; i < tokens.length; i++) sc.push(tokens[i]);
    const st = sc.state;
    if (st.start < 0) return undefined;
    // Closed: only the answer prefix after our own (forced) close may still be due.
    if (st.end >= 0 && st.end - st.start !== closedAt) return undefined;
    const j = tokens.length - promptLen - st.start - freeTokens;
    return j >= 0 && j < forced.length ? forced[j] : undefined;
  };
}
