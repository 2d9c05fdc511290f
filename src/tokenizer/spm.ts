/**
 * SentencePiece-style tokenizer (GGUF `tokenizer.ggml.model = "llama"`), as the reference runs it.
 *
 * The fragment (spaces already replaced by U+2581 "▁") starts as one symbol per code point. Any
 * adjacent pair whose concatenation is a vocabulary token is queued by that token's score; the
 * highest score merges first (ties: leftmost). Only pairs whose concatenation is a token are ever
 * merged, so every finished symbol is either a token or a single character; a character that is
 * not a token falls back to its UTF-8 byte tokens <0xNN>. (The reference also keeps a map to
 * split finished symbols back along their merges; by the argument above it never applies.)
 *
 * Speed, without changing the result:
 * - Symbols are integer ids: a token id, or nVocab + code point for a character that is no token.
 *   "Is left+right a token, and which" is memoised per id pair in a PairTable, so the merge loop
 *   does no string slicing and no string-keyed lookups after a pair's first occurrence.
 * - The fragment is cut into words before each "▁" run, except after a character c such that some
 *   token contains "c▁". A symbol spanning such a cut would be a token containing "c▁" (every
 *   multi-character symbol is a token), so no merge crosses a cut: merges in different words are
 *   independent and the per-word results concatenate to the whole-fragment result. Words repeat
 *   in natural text, so their ids are cached.
 */
import { TokenizerError } from "../errors.js";
import { PAIR_ABSENT, PairTable } from "./pair-table.js";
import { SymbolList, type MergeRule } from "./symbol-list.js";
import { utf8Encode } from "./unicode.js";
import type { VocabData } from "./vocab.js";

const SPACE = 0x20;
const SPACE_MARK = 0x2581; // "▁"
const NO_ID = -2; // char-id table: not looked up yet
/** Words longer than this (UTF-16 units) are not cached (a run of CJK text is one long word). */
const CACHE_WORD_MAX = 128;
const CACHE_LIMIT = 1 << 16;

export class SpmModel implements MergeRule {
  private readonly byteIds = new Int32Array(256).fill(NO_ID);
  private readonly nVocab: number;
  /** Longest token text in UTF-16 units: longer pairs cannot be tokens, so skip the lookup. */
  private readonly maxLen: number;
  /** joinsSpace[u] = 1 when some token contains UTF-16 unit u (not "▁") followed by "▁". */
  private readonly joinsSpace = new Uint8Array(65536);
  /** Symbol id of a one-unit (BMP) character; NO_ID until first seen. */
  private readonly bmpIds = new Int32Array(65536).fill(NO_ID);
  private readonly astralIds = new Map<number, number>();
  /** (left symbol, right symbol) -> merged token id, or -1 when the concatenation is no token. */
  private readonly pairs = new PairTable();
  private readonly wordCache = new Map<string, Int32Array>();

  /** Scratch for one word: symbol ids, lengths in UTF-16 units, links, merge queue. */
  private readonly list = new SymbolList();
  private readonly wordOut: number[] = [];

  constructor(private readonly vocab: VocabData) {
    const { tokens } = vocab;
    this.nVocab = tokens.length;
    let m = 0;
    for (const t of tokens) {
      if (t.length > m) m = t.length;
      for (let k = t.indexOf("\u2581", 1); k > 0; k = t.indexOf("\u2581", k + 1)) {
        const u = t.charCodeAt(k - 1);
        if (u !== SPACE_MARK) this.joinsSpace[u] = 1;
      }
    }
    this.maxLen = m;
  }

  /** Token id for a raw byte: <0xNN>, else the one-byte text itself. */
  byteToken(b: number): number {
    let id = this.byteIds[b];
    if (id === NO_ID) {
      const hex = "<0x" + b.toString(16).toUpperCase().padStart(2, "0") + ">";
      id =
        this.vocab.textToId.get(hex) ??
        (b < 0x80 ? this.vocab.textToId.get(String.fromCharCode(b)) : undefined) ??
        -1;
      this.byteIds[b] = id;
    }
    if (id < 0) {
      throw new TokenizerError(`vocabulary has no token for byte 0x${b.toString(16).padStart(2, "0")}`, {
        field: "tokenizer.ggml.tokens",
        hint: "SentencePiece vocabularies need <0xNN> byte-fallback tokens",
      });
    }
    return id;
  }

  /**
   * Append the ids of one raw text fragment to `out`. Spaces count as "▁" (the reference escapes
   * them first; here the escape happens per character, so the 1 MB string is not rewritten), and
   * `spacePrefix` puts one "▁" in front.
   */
  encodeFragment(text: string, spacePrefix: boolean, out: number[]): void {
    const { joinsSpace } = this;
    let w0 = 0;
    for (let i = 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== SPACE && c !== SPACE_MARK) continue;
      const u = text.charCodeAt(i - 1);
      if (u === SPACE || u === SPACE_MARK || joinsSpace[u]) continue;
      this.encodeWordCached(w0 === 0 && spacePrefix ? " " + text.slice(0, i) : text.slice(w0, i), out);
      w0 = i;
    }
    if (w0 === 0 && spacePrefix) this.encodeWordCached(" " + text, out);
    else if (w0 < text.length) this.encodeWordCached(w0 === 0 ? text : text.slice(w0), out);
  }

  private encodeWordCached(word: string, out: number[]): void {
    if (word.length > CACHE_WORD_MAX) {
      this.encodeWord(word, out);
      return;
    }
    let ids = this.wordCache.get(word);
    if (ids === undefined) {
      const tmp = this.wordOut;
      tmp.length = 0;
      this.encodeWord(word, tmp);
      ids = Int32Array.from(tmp);
      if (this.wordCache.size >= CACHE_LIMIT) this.wordCache.clear();
      this.wordCache.set(word, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }

  /** Symbol id of the character `cp` at word[i] (`units` long): its token id, else nVocab + cp. */
  private charId(word: string, i: number, cp: number, units: number): number {
    if (units === 1) {
      let id = this.bmpIds[cp];
      if (id === NO_ID) {
        id = this.vocab.textToId.get(String.fromCharCode(cp)) ?? this.nVocab + cp;
        this.bmpIds[cp] = id;
      }
      return id;
    }
    let id = this.astralIds.get(cp);
    if (id === undefined) {
      id = this.vocab.textToId.get(word.slice(i, i + 2)) ?? this.nVocab + cp;
      this.astralIds.set(cp, id);
    }
    return id;
  }

  private symText(id: number): string {
    return id < this.nVocab ? this.vocab.tokens[id] : String.fromCodePoint(id - this.nVocab);
  }

  /** Token id spelled by symbols a then b, or -1. */
  private merged(a: number, b: number): number {
    let id = this.pairs.get(a, b);
    if (id === PAIR_ABSENT) {
      id = this.vocab.textToId.get(this.symText(a) + this.symText(b)) ?? -1;
      this.pairs.set(a, b, id);
    }
    return id;
  }

  /** Queue the pair (l, r) if their concatenation is a token (SymbolList's MergeRule). */
  queuePair(l: number, r: number): void {
    if (l < 0 || r < 0) return;
    const { sym, len, queue } = this.list;
    const size = len[l] + len[r];
    if (size > this.maxLen) return;
    const id = this.merged(sym[l], sym[r]);
    if (id >= 0) queue.push(this.vocab.scores[id], l, r, size, id);
  }

  /** Merge one word (no cut inside) and append its ids to `out`. */
  private encodeWord(word: string, out: number[]): void {
    const list = this.list;
    list.reserve(word.length);
    let n = 0;
    for (let i = 0; i < word.length;) {
      let c = word.charCodeAt(i);
      const units = c >= 0xd800 && c <= 0xdbff && i + 1 < word.length ? 2 : 1;
      if (c === SPACE) c = SPACE_MARK;
      const cp = units === 2 ? word.codePointAt(i)! : c;
      list.set(n++, this.charId(word, i, cp, units), units);
      i += units;
    }
    if (n === 0) return;
    list.mergeAll(n, this);
    const { sym, next } = list;
    for (let k = 0; k !== -1; k = next[k]) {
      const id = sym[k];
      if (id < this.nVocab) out.push(id);
      else for (const b of utf8Encode(String.fromCodePoint(id - this.nVocab))) out.push(this.byteToken(b));
    }
  }
}
