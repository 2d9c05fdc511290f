import { VocabMismatchError } from "../errors.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";

/**
 * Speculative decoding's drafts: prompt lookup (below) and the vocabulary check of a draft model
 * (the engine runs the draft model itself: engine.ts draftModelTokens).
 *
 * Prompt lookup (n-gram drafting, llama.cpp's lookup / "prompt lookup
 * decoding"): the last `ngram` tokens of a sequence are searched for earlier in its own tokens
 * (most recent match first, longest n-gram first down to `minNgram`), and the tokens that followed
 * that match are the draft. The engine verifies [last token, draft...] in ONE batched forward
 * (a segment with an output row per position), accepts the draft up to the first token the model
 * would not have chosen, plus the model's own token there, and truncates the KV past it.
 * Greedy (temperature 0; processors that read the history, such as penalties, still apply
 * exactly, row by row): the output is identical to decoding one token per step. Sampling: the
 * draft (a one-hot proposal for lookup, the draft model's distribution otherwise) goes through
 * speculative sampling's accept/reject (sampling/speculative.ts), which keeps the target's
 * distribution.
 */
export interface SpeculativeOptions {
  /**
   * Where drafts come from: "lookup" (n-gram from the sequence's own tokens), "draft" (the
   * engine's draft model: Engine.attachDraft / loadLLM's `draft`) or "early-exit" (the target's
   * first `draftLayers` layers). Default: "early-exit" when `draftLayers` is given, else "draft"
   * when the engine has a draft model, else "lookup".
   */
  method?: "lookup" | "draft" | "early-exit";
  /**
   * Method "early-exit" (self-speculative, LayerSkip): the draft is the target's own first
   * `draftLayers` layers, then its final norm and output head (1..nLayers-1). The drafts write the
   * target's own KV of those layers; the verification runs only the layers above, from the
   * drafts' saved hidden rows (engine.ts exitDraft).
   */
  draftLayers?: number;
  /**
   * Longest n-gram looked up (default 10). The longest tail that occurred before picks where to
   * copy from: in text that repeats an earlier passage, short n-grams ("carry 0, so far") match a
   * nearer but wrong place, long ones the passage being repeated.
   */
  ngram?: number;
  /** Shortest n-gram tried when the longer ones find nothing (default 1). */
  minNgram?: number;
  /** Most draft tokens per step (default 8). */
  maxDraft?: number;
  /**
   * Methods "draft" and "early-exit": stop drafting when the draft's most likely next token has
   * less than this probability (the top of softmax(draft logits), before the sequence's
   * processors; llama.cpp's --draft-p-min). Decided before the token is drawn, so sampling keeps
   * the target's distribution. Default 0: always draft maxDraft tokens.
   */
  draftPMin?: number;
  /**
   * Lookup drafts at most this many tokens per matched token (default 1: a 2-token match drafts
   * at most 2; 64 = no cap). A short match is a weak prediction, and every rejected draft still
   * costs a verification row.
   */
  draftPerMatch?: number;
}

/** Draft tokens continuing `tokens` (empty when no earlier occurrence of its tail is found). */
export function lookupDraft(tokens: readonly number[], opts: SpeculativeOptions, limit: number): number[] {
  const maxN = opts.ngram ?? 10;
  const perMatch = opts.draftPerMatch ?? 1;
  const minN = opts.minNgram ?? 1;
  const k = Math.min(opts.maxDraft ?? 8, limit);
  const len = tokens.length;
  if (k <= 0) return [];
  for (let n = Math.min(maxN, len - 1); n >= minN; n--) {
    // Most recent earlier start i with tokens[i..i+n) == the last n tokens.
    for (let i = len - n - 1; i >= 0; i--) {
      let ok = true;
      for (let j = 0; j < n; j++) {
        if (tokens[i + j] !== tokens[len - n + j]) {
          ok = false;
          break;
        }
      }
      if (ok) return tokens.slice(i + n, Math.min(len, i + n + Math.min(k, n * perMatch))) as number[];
    }
  }
  return [];
}

/**
 * A draft model must share the target's vocabulary: same model kind, size, special tokens and the
 * text of every token id (llama.cpp's common_speculative_are_compatible checks the same kind of
 * thing, with some slack). Throws VocabMismatchError naming the first difference.
 */
export function checkDraftVocab(
  target: Tokenizer,
  draft: Tokenizer,
  nVocabTarget: number,
  nVocabDraft: number,
): void {
  const t = target.vocab;
  const d = draft.vocab;
  const fail = (what: string, detail: string) => {
    throw new VocabMismatchError(what, `the draft model's vocabulary differs from the target's: ${detail}`, {
      hint: "a draft model must use the same tokenizer as the target (same family, same vocabulary)",
    });
  };
  if (t.model !== d.model) fail("model", `tokenizer kind ${d.model} vs ${t.model}`);
  if (nVocabTarget !== nVocabDraft) fail("n_vocab", `${nVocabDraft} output rows vs ${nVocabTarget}`);
  if (t.tokens.length !== d.tokens.length) fail("size", `${d.tokens.length} tokens vs ${t.tokens.length}`);
  for (const k of ["bos", "eos", "eot"] as const)
    if (t[k] !== d[k]) fail(k, `${k.toUpperCase()} id ${d[k]} vs ${t[k]}`);
  for (let i = 0; i < t.tokens.length; i++)
    if (t.tokens[i] !== d.tokens[i])
      fail(`token ${i}`, `token ${i} is ${JSON.stringify(d.tokens[i])} vs ${JSON.stringify(t.tokens[i])}`);
}
