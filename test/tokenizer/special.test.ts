/**
 * Special-token partition vs a direct restatement of the reference's fragment-list algorithm
 * (llama.cpp tokenizer_st_partition: for each special token, longest first, split every text
 * fragment at its leftmost non-overlapping occurrences, LSTRIP/RSTRIP dropping whitespace on that
 * side), on seeded random token sets with overlapping texts and strip flags.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SpecialMatcher, type Fragment } from "../../src/tokenizer/special.js";
import { Attr, readVocab } from "../../src/tokenizer/vocab.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The reference's loop over a fragment list, one special token at a time. */
function naivePartition(text: string, ids: number[], tokens: string[], attrs: Uint16Array): Fragment[] {
  let frags: Fragment[] = text.length > 0 ? [{ text }] : [];
  for (const id of ids) {
    const t = tokens[id];
    const out: Fragment[] = [];
    for (const f of frags) {
      if (!("text" in f)) {
        out.push(f);
        continue;
      }
      let s = f.text;
      for (;;) {
        const at = s.indexOf(t);
        if (at < 0) {
          if (s.length > 0) out.push({ text: s });
          break;
        }
        let left = s.slice(0, at);
        if (attrs[id] & Attr.Lstrip) left = left.replace(/[ \t\n\v\f\r]+$/, "");
        if (left.length > 0) out.push({ text: left });
        out.push({ id });
        s = s.slice(at + t.length);
        if (attrs[id] & Attr.Rstrip) s = s.replace(/^[ \t\n\v\f\r]+/, "");
      }
    }
    frags = out;
  }
  return frags;
}

const PIECES = ["a", "b", "<", ">", " ", "\n", "é", "😀"];

test("partition equals the reference's fragment-list algorithm (overlaps, LSTRIP/RSTRIP, parse_special)", () => {
  const r = rng(7);
  const pick = () => PIECES[Math.floor(r() * PIECES.length)];
  let compared = 0;
  for (let v = 0; v < 50; v++) {
    const tokens = [...PIECES];
    const types: number[] = PIECES.map(() => 1);
    const seen = new Set(tokens);
    for (let k = 0; k < 8; k++) {
      let t = "";
      for (let n = 1 + Math.floor(r() * 4); n > 0; n--) t += pick();
      if (seen.has(t)) continue;
      seen.add(t);
      tokens.push(t);
      types.push(r() < 0.5 ? 3 : 4); // CONTROL or USER_DEFINED
    }
    const vocab = readVocab({
      "tokenizer.ggml.model": "llama",
      "tokenizer.ggml.tokens": tokens,
      "tokenizer.ggml.token_type": Int32Array.from(types),
    });
    for (let i = PIECES.length; i < tokens.length; i++) {
      if (r() < 0.3) vocab.attrs[i] |= Attr.Lstrip;
      if (r() < 0.3) vocab.attrs[i] |= Attr.Rstrip;
    }
    const m = new SpecialMatcher(vocab);
    // The reference's order: UTF-8 length, longest first (ties by id).
    const blen = (i: number) => Buffer.byteLength(tokens[i]);
    for (const parseSpecial of [false, true]) {
      const mask = parseSpecial ? Attr.Control | Attr.UserDefined : Attr.UserDefined;
      const ids = tokens
        .map((_, i) => i)
        .filter((i) => vocab.attrs[i] & mask)
        .sort((a, b) => blen(b) - blen(a) || a - b);
      for (let k = 0; k < 40; k++) {
        let text = "";
        for (let n = Math.floor(r() * 30); n > 0; n--) text += pick();
        assert.deepEqual(
          m.partition(text, parseSpecial),
          naivePartition(text, ids, tokens, vocab.attrs),
          `vocab ${v} ${JSON.stringify(tokens.slice(PIECES.length))}, text ${JSON.stringify(text)}`,
        );
        compared++;
      }
    }
  }
  assert.equal(compared, 4000);
});
