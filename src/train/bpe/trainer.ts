/**
 * Byte-level BPE training. The corpus is cut at special tokens and pre-tokenized (qwen2 regex);
 * unique pre-tokens with their counts are the "words". Each word starts as its UTF-8 bytes (ids
 * 0..255) and the most frequent adjacent pair is merged repeatedly. Pair counts are updated
 * incrementally: a merge only revisits the words that contain the merged pair (pair -> word index
 * sets), so a few-MB corpus trains a 2k vocab in seconds.
 *
 * Ties on count go to the smallest (left id, right id), making training deterministic. A pair
 * whose bytes already exist as a token (reachable by another merge path, e.g. "a"+"bc" after
 * "ab"+"c") is banned rather than merged: every token string stays unique, which llama.cpp's
 * text->id map needs, and the rank-ordered encoder never produces that pair's merge either.
 */
import { InputError } from "../../errors.js";
import { preTokenize, splitSpecials } from "./pretokenize.js";

export interface BpeModel {
  /** merges in rank order; merge i creates token id 256 + i from ids [left, right] */
  merges: [number, number][];
  /** bytes of every non-special token id (0..255 are the single bytes) */
  tokenBytes: Uint8Array[];
}

export interface BpeTrainOptions {
  /** number of non-special tokens wanted: 256 bytes + merges */
  vocabSize: number;
  /** strings never split or merged (they are added as their own tokens by the vocab builder) */
  specials: readonly string[];
  /** pairs seen fewer times than this are never merged */
  minCount?: number;
}

const utf8 = new TextEncoder();
const PAIR = 1 << 16; // ids stay below 65536 (vocab sizes here are a few thousand)

/** Count unique pre-tokens across documents. */
export function countWords(docs: Iterable<string>, specials: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const doc of docs) {
    for (const piece of splitSpecials(doc, specials)) {
      if (piece.special) continue;
      for (const w of preTokenize(piece.text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  return counts;
}

export function trainBpe(docs: Iterable<string>, opts: BpeTrainOptions): BpeModel {
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 256 || opts.vocabSize >= PAIR) {
    throw new InputError(`vocabSize must be an integer in [256, ${PAIR}), got ${opts.vocabSize}`, {
      field: "vocabSize",
    });
  }
  const minCount = opts.minCount ?? 2;
  const wordCounts = countWords(docs, opts.specials);
  // words as symbol arrays; freq per word
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, c] of wordCounts) {
    words.push(Array.from(utf8.encode(w)));
    freq.push(c);
  }
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number) => {
    const s = words[wi];
    for (let i = 0; i + 1 < s.length; i++) {
      const k = s[i] * PAIR + s[i + 1];
      const n = (pairCount.get(k) ?? 0) + sign * freq[wi];
      if (n === 0) pairCount.delete(k);
      else pairCount.set(k, n);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, +1);

  const tokenBytes: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) tokenBytes.push(Uint8Array.of(b));
  const merges: [number, number][] = [];
  const known = new Set<string>(tokenBytes.map(byteKey));
  const banned = new Set<number>();
  while (tokenBytes.length < opts.vocabSize) {
    let best = -1;
    let bestN = 0;
    for (const [k, n] of pairCount) {
      if (banned.has(k)) continue;
      if (n > bestN || (n === bestN && k < best)) {
        best = k;
        bestN = n;
      }
    }
    if (best < 0 || bestN < minCount) break;
    const left = Math.floor(best / PAIR);
    const right = best % PAIR;
    const id = tokenBytes.length;
    const lb = tokenBytes[left];
    const rb = tokenBytes[right];
    const nb = new Uint8Array(lb.length + rb.length);
    nb.set(lb);
    nb.set(rb, lb.length);
    if (known.has(byteKey(nb))) {
      banned.add(best);
      continue;
    }
    known.add(byteKey(nb));
    tokenBytes.push(nb);
    merges.push([left, right]);
    const affected = pairWords.get(best)!;
    pairWords.delete(best);
    for (const wi of affected) {
      const s = words[wi];
      let has = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === left && s[i + 1] === right) has = true;
      if (!has) continue; // stale entry: an earlier merge already consumed this occurrence
      addPairs(wi, -1);
      const ns: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === left && s[i + 1] === right) {
          ns.push(id);
          i++;
        } else ns.push(s[i]);
      }
      words[wi] = ns;
      addPairs(wi, +1);
    }
  }
  return { merges, tokenBytes };
}

function byteKey(b: Uint8Array): string {
  return String.fromCharCode(...b);
}
