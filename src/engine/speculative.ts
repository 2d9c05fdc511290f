/**
 * Speculative decoding by prompt lookup (n-gram drafting, llama.cpp's lookup / "prompt lookup
 * decoding"): the last `ngram` tokens of a sequence are searched for earlier in its own tokens
 * (most recent match first, longest n-gram first down to `minNgram`), and the tokens that followed
 * that match are the draft. The engine verifies [last token, draft...] in ONE batched forward
 * (a segment with an output row per position), accepts the draft up to the first token the model
 * would not have chosen, plus the model's own token there, and truncates the KV past it.
 * Greedy only (temperature 0; processors that read the history, such as penalties, still apply
 * exactly, row by row): the output is identical to decoding one token per step.
 */
export interface SpeculativeOptions {
  /** Longest n-gram looked up (default 3). */
  ngram?: number;
  /** Shortest n-gram tried when the longer ones find nothing (default 1). */
  minNgram?: number;
  /** Most draft tokens per step (default 8). */
  maxDraft?: number;
}

/** Draft tokens continuing `tokens` (empty when no earlier occurrence of its tail is found). */
export function lookupDraft(tokens: readonly number[], opts: SpeculativeOptions, limit: number): number[] {
  const maxN = opts.ngram ?? 3;
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
      if (ok) return tokens.slice(i + n, Math.min(len, i + n + k)) as number[];
    }
  }
  return [];
}
