/**
 * SentencePiece-style tokenizer (GGUF `tokenizer.ggml.model = "llama"`), as the reference runs it.
 *
 * The fragment (spaces already replaced by U+2581 "▁") starts as one symbol per code point. Any
 * adjacent pair whose concatenation is a vocabulary token is queued by that token's score; the
 * highest score merges first (ties: leftmost). Only pairs whose concatenation is a token are ever
 * merged, so every finished symbol is either a token or a single character; a character that is
 * not a token falls back to its UTF-8 byte tokens <0xNN>. (The reference also keeps a map to
 * split finished symbols back along their merges; by the argument above it never applies.)
 */
import { TokenizerError } from "../errors.js";
import { IndexHeap } from "./heap.js";
import { utf8Encode } from "./unicode.js";
import type { VocabData } from "./vocab.js";

export class SpmModel {
  private readonly byteIds = new Int32Array(256).fill(-2); // -2 = not looked up yet

  /** Longest token text in UTF-16 units: longer pairs cannot be tokens, so skip the lookup. */
  private readonly maxLen: number;

  constructor(private readonly vocab: VocabData) {
    let m = 0;
    for (const t of vocab.tokens) m = Math.max(m, t.length);
    this.maxLen = m;
  }

  /** Token id for a raw byte: <0xNN>, else the one-byte text itself. */
  byteToken(b: number): number {
    let id = this.byteIds[b];
    if (id === -2) {
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

  /** Append the ids of one escaped fragment to `out`. */
  encodeFragment(text: string, out: number[]): void {
    const { textToId, scores } = this.vocab;
    // Symbols over UTF-16 offsets; one per code point.
    const startArr: number[] = [];
    for (let i = 0; i < text.length;) {
      startArr.push(i);
      const c = text.charCodeAt(i);
      i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
    }
    const n = startArr.length;
    if (n === 0) return;
    const start = Int32Array.from(startArr);
    const len = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      len[i] = (i + 1 < n ? start[i + 1] : text.length) - start[i];
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const qLeft: number[] = [];
    const qRight: number[] = [];
    const qScore: number[] = [];
    const qSize: number[] = [];
    // Highest score first; equal scores: leftmost first.
    const heap = new IndexHeap(
      (a, b) => qScore[a] > qScore[b] || (qScore[a] === qScore[b] && qLeft[a] < qLeft[b]),
    );
    const maxLen = this.maxLen;
    const tryAdd = (l: number, r: number) => {
      if (l < 0 || r < 0 || len[l] + len[r] > maxLen) return;
      const s = text.slice(start[l], start[l] + len[l] + len[r]);
      const id = textToId.get(s);
      if (id === undefined) return;
      const slot = qLeft.length;
      qLeft.push(l);
      qRight.push(r);
      qScore.push(scores[id]);
      qSize.push(s.length);
      heap.push(slot);
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    while (heap.size > 0) {
      const s = heap.pop();
      const l = qLeft[s];
      const r = qRight[s];
      if (len[l] === 0 || len[r] === 0 || len[l] + len[r] !== qSize[s]) continue;
      len[l] += len[r];
      len[r] = 0;
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      tryAdd(prev[l], l);
      tryAdd(l, next[l]);
    }
    for (let i = 0; i !== -1; i = next[i]) {
      const sym = text.slice(start[i], start[i] + len[i]);
      const id = textToId.get(sym);
      if (id !== undefined) out.push(id);
      else for (const b of utf8Encode(sym)) out.push(this.byteToken(b));
    }
  }
}
