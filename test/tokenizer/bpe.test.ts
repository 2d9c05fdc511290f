/**
 * Byte-level BPE merge loop vs a naive restatement of the reference algorithm (every step merges
 * the adjacent pair with the lowest merge rank, leftmost on ties; finished symbols that are no
 * token fall back to their ASCII one-byte tokens) on seeded random vocabularies. The merges
 * include results missing from the vocabulary, repeated merges, and byte chars missing from it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BpeModel } from "../../src/tokenizer/bpe.js";
import { preTokenizerFor } from "../../src/tokenizer/pretokenizers.js";
import { byteEncode, byteToUnicode } from "../../src/tokenizer/unicode.js";
import { readVocab, type VocabData } from "../../src/tokenizer/vocab.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function naiveBpe(piece: string, vocab: VocabData): number[] {
  const rank = new Map<string, number>();
  vocab.merges.forEach((m, r) => {
    const pos = m.indexOf(" ", 1);
    if (pos < 0) return;
    const key = m.slice(0, pos) + "\u0000" + m.slice(pos + 1);
    if (!rank.has(key)) rank.set(key, r);
  });
  const syms = [...byteEncode(piece)];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = rank.get(syms[i] + "\u0000" + syms[i + 1]);
      if (r !== undefined && r < bestRank) {
        best = i;
        bestRank = r;
      }
    }
    if (best < 0) break;
    syms.splice(best, 2, syms[best] + syms[best + 1]);
  }
  const out: number[] = [];
  for (const s of syms) {
    const id = vocab.textToId.get(s);
    if (id !== undefined) out.push(id);
    else
      for (const ch of s)
        if (ch.charCodeAt(0) < 0x80 && vocab.textToId.has(ch)) out.push(vocab.textToId.get(ch)!);
  }
  return out;
}

const CHARS = ["a", "b", "c", " ", "é", "中", "😀"];

test("BPE equals the naive merge loop on random vocabularies (extra merge texts, repeats, ties)", () => {
  const r = rng(99);
  let compared = 0;
  for (let v = 0; v < 40; v++) {
    // Byte chars of the alphabet's UTF-8, most of them tokens.
    const units = new Set<string>();
    for (const c of CHARS) for (const u of byteEncode(c)) units.add(u);
    const unitList = [...units];
    const tokens = unitList.filter(() => r() < 0.85);
    if (!tokens.includes(byteToUnicode[0x61])) tokens.push(byteToUnicode[0x61]);
    // Merges over texts built so far; some results stay out of the vocabulary.
    const texts = [...unitList];
    const merges: string[] = [];
    for (let k = 0; k < 50; k++) {
      const a = texts[Math.floor(r() * texts.length)];
      const b = texts[Math.floor(r() * texts.length)];
      merges.push(`${a} ${b}`);
      if (r() < 0.2) merges.push(`${a} ${b}`); // a repeated merge keeps its first rank
      texts.push(a + b);
      if (r() < 0.8 && !tokens.includes(a + b)) tokens.push(a + b);
    }
    const vocab = readVocab({
      "tokenizer.ggml.model": "gpt2",
      "tokenizer.ggml.pre": "default",
      "tokenizer.ggml.tokens": tokens,
      "tokenizer.ggml.merges": merges,
    });
    const model = new BpeModel(vocab, preTokenizerFor("default"));
    for (let k = 0; k < 50; k++) {
      let piece = "";
      for (let n = 1 + Math.floor(r() * 12); n > 0; n--) piece += CHARS[Math.floor(r() * CHARS.length)];
      assert.deepEqual(
        model.encodePiece(piece),
        naiveBpe(piece, vocab),
        `vocab ${v}, piece ${JSON.stringify(piece)}`,
      );
      compared++;
    }
  }
  assert.equal(compared, 2000);
});
