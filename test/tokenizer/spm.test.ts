/**
 * SentencePiece merge loop vs a naive restatement of the reference algorithm (every step merges
 * the highest-scoring adjacent pair whose concatenation is a token, leftmost on ties) on seeded
 * random vocabularies and texts. The vocabularies include tokens such as "a▁b" and "▁▁" so the
 * word cuts and the pair memo are exercised where they could go wrong.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Tokenizer } from "../../src/tokenizer/tokenizer.js";
import { TokenType } from "../../src/tokenizer/vocab.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Naive O(n^2) SPM over code points; characters that are no token become byte tokens. */
function naiveSpm(text: string, textToId: Map<string, number>, scores: ArrayLike<number>): number[] {
  const syms = Array.from(text);
  for (;;) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const id = textToId.get(syms[i] + syms[i + 1]);
      if (id !== undefined && scores[id] > bestScore) {
        best = i;
        bestScore = scores[id];
      }
    }
    if (best < 0) break;
    syms.splice(best, 2, syms[best] + syms[best + 1]);
  }
  const out: number[] = [];
  for (const s of syms) {
    const id = textToId.get(s);
    if (id !== undefined) out.push(id);
    else
      for (const b of Buffer.from(s, "utf8"))
        out.push(textToId.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)!);
  }
  return out;
}

const ALPHABET = ["a", "b", "c", "▁", ">", "é", "😀", "\u4e2d"];

function randomVocab(r: () => number): Record<string, unknown> {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [TokenType.Unknown, TokenType.Control, TokenType.Control];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.Byte);
  }
  // Single characters, except some left out (they must fall back to bytes or merge).
  for (const c of ALPHABET) if (r() < 0.8) tokens.push(c);
  const seen = new Set(tokens);
  for (let k = 0; k < 60; k++) {
    const n = 2 + Math.floor(r() * 4);
    let t = "";
    for (let i = 0; i < n; i++) t += ALPHABET[Math.floor(r() * ALPHABET.length)];
    if (!seen.has(t)) {
      seen.add(t);
      tokens.push(t);
    }
  }
  while (types.length < tokens.length) types.push(TokenType.Normal);
  // Few distinct scores, so ties (decided by position) are common.
  const scores = tokens.map((_, i) => (i < 259 ? 0 : -Math.floor(r() * 6)));
  return {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": Float32Array.from(scores),
    "tokenizer.ggml.token_type": Int32Array.from(types),
  };
}

test("SPM equals the naive merge loop on random vocabularies (word cuts, memo, ties, byte fallback)", () => {
  const r = rng(42);
  let compared = 0;
  for (let v = 0; v < 40; v++) {
    const md = randomVocab(r);
    const tok = Tokenizer.fromMetadata(md);
    const scores = md["tokenizer.ggml.scores"] as Float32Array;
    for (let k = 0; k < 60; k++) {
      const n = Math.floor(r() * 40);
      let text = "";
      for (let i = 0; i < n; i++) text += r() < 0.25 ? " " : ALPHABET[Math.floor(r() * ALPHABET.length)];
      const want =
        text === "" ? [] : naiveSpm(("  " + text).slice(1).replaceAll(" ", "▁"), tok.vocab.textToId, scores);
      // Twice: the second call is served from the word cache and the pair memo.
      for (let rep = 0; rep < 2; rep++)
        assert.deepEqual(tok.encode(text), want, `vocab ${v}, text ${JSON.stringify(text)}, rep ${rep}`);
      compared++;
    }
  }
  assert.equal(compared, 2400);
});

test("SPM does not cut a word where a token joins a character to a following ▁", () => {
  // ">▁<" is reached through ">▁" (SPM only merges pairs that are tokens).
  const tokens = ["<unk>", "<s>", "</s>", "▁", "a", ">", "<", "▁a", ">▁", ">▁<", "▁▁"];
  const types = tokens.map((_, i) =>
    i === 0 ? TokenType.Unknown : i < 3 ? TokenType.Control : TokenType.Normal,
  );
  const md = {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": Float32Array.from(tokens.map((_, i) => -i)),
    "tokenizer.ggml.token_type": Int32Array.from(types),
    "tokenizer.ggml.add_space_prefix": false,
  };
  const tok = Tokenizer.fromMetadata(md);
  const names = (s: string) => tok.encode(s).map((id) => tokens[id]);
  assert.deepEqual(names("a> <a"), ["a", ">▁<", "a"]);
  assert.deepEqual(names("a a  a"), ["a", "▁a", "▁", "▁a"]);
});
