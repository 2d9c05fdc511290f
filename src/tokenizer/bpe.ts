/**
 * Byte-level BPE (GGUF `tokenizer.ggml.model = "gpt2"`).
 *
 * Per pre-token piece: byte-encode it (each UTF-8 byte -> one GPT-2 char), start from one symbol
 * per byte, then repeatedly merge the adjacent pair with the lowest merge rank (ties: leftmost)
 * using a priority queue, so a piece of n bytes costs O(n log n). Finished symbols are looked up
 * in the vocabulary. Results are cached per piece because natural text repeats pieces heavily.
 */
import { IndexHeap } from "./heap.js";
import { preTokenize, type PreTokenizer } from "./pretokenizers.js";
import { byteEncode } from "./unicode.js";
import type { VocabData } from "./vocab.js";

const CACHE_LIMIT = 1 << 16;

export class BpeModel {
  /** "left\u0000right" -> rank. */
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();

  constructor(
    private readonly vocab: VocabData,
    readonly pre: PreTokenizer,
  ) {
    vocab.merges.forEach((m, rank) => {
      // Split at the first space after position 0 (a merge side may itself start with a space).
      const pos = m.indexOf(" ", 1);
      const key = pos < 0 ? "\u0000" : m.slice(0, pos) + "\u0000" + m.slice(pos + 1);
      // The first occurrence of a duplicated merge keeps its rank, as in the reference.
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
  }

  /** Append the ids of one raw-text fragment (no special tokens inside) to `out`. */
  encodeFragment(text: string, out: number[]): void {
    for (const piece of preTokenize(text, this.pre)) {
      // Keyed by the raw piece, so a hit skips the UTF-8 + byte-char encoding too.
      let ids = this.cache.get(piece);
      if (ids === undefined) {
        ids = this.encodeWord(byteEncode(piece));
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(piece, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
  }

  /** BPE-merge one byte-encoded piece. */
  encodeWord(word: string): number[] {
    const { textToId } = this.vocab;
    if (this.pre.ignoreMerges) {
      const id = textToId.get(word);
      if (id !== undefined) return [id];
    }
    const n = word.length; // one UTF-16 unit per byte after byte encoding
    if (n === 1) {
      const id = textToId.get(word);
      return id !== undefined ? [id] : [];
    }
    // Symbols: [start, end) into `word`, doubly linked; len 0 = merged away.
    const start = new Int32Array(n);
    const len = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      start[i] = i;
      len[i] = 1;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    // Queue entries: parallel arrays indexed by slot.
    const qLeft: number[] = [];
    const qRight: number[] = [];
    const qRank: number[] = [];
    const qLen: number[] = [];
    const heap = new IndexHeap(
      (a, b) => qRank[a] < qRank[b] || (qRank[a] === qRank[b] && qLeft[a] < qLeft[b]),
    );
    const tryAdd = (l: number, r: number) => {
      if (l < 0 || r < 0) return;
      const ls = word.slice(start[l], start[l] + len[l]);
      const rs = word.slice(start[r], start[r] + len[r]);
      const rank = this.ranks.get(ls + "\u0000" + rs);
      if (rank === undefined) return;
      const slot = qLeft.length;
      qLeft.push(l);
      qRight.push(r);
      qRank.push(rank);
      qLen.push(len[l] + len[r]);
      heap.push(slot);
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    while (heap.size > 0) {
      const s = heap.pop();
      const l = qLeft[s];
      const r = qRight[s];
      if (len[l] === 0 || len[r] === 0) continue;
      // Stale entry: a side grew since it was queued (a symbol only ever grows to the right).
      if (len[l] + len[r] !== qLen[s] || next[l] !== r) continue;
      len[l] += len[r];
      len[r] = 0;
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      tryAdd(prev[l], l);
      tryAdd(l, next[l]);
    }
    const ids: number[] = [];
    for (let i = 0; i !== -1; i = next[i]) {
      if (len[i] === 0) continue;
      const sym = word.slice(start[i], start[i] + len[i]);
      const id = textToId.get(sym);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      // Not a token: fall back to the single-byte pieces of the symbol's UTF-8 text. Only ASCII
      // chars can be one-byte tokens; other bytes have no token and are dropped, like the reference.
      for (const ch of sym) {
        const c = ch.charCodeAt(0);
        if (c < 0x80) {
          const b = textToId.get(ch);
          if (b !== undefined) ids.push(b);
        }
      }
    }
    return ids;
  }
}
