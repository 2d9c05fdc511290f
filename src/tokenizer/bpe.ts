/**
 * Byte-level BPE (GGUF `tokenizer.ggml.model = "gpt2"`).
 *
 * Per pre-token piece: one symbol per UTF-8 byte, then repeatedly merge the adjacent pair with the
 * lowest merge rank (ties: leftmost) using a priority queue, so a piece of n bytes costs
 * O(n log n). Symbols are integer ids (the token spelled by the symbol, or an extra id for a text
 * that merges mention but the vocabulary lacks), and merge ranks live in a PairTable keyed by
 * (left id, right id), so the loop does no string slicing or string-keyed lookups. Finished
 * symbols are their token ids. Results are cached per piece because natural text repeats pieces.
 */
import { PAIR_ABSENT, PairTable } from "./pair-table.js";
import { preTokenize, type PreTokenizer } from "./pretokenizers.js";
import { SymbolList, type MergeRule } from "./symbol-list.js";
import { byteEncode, byteToUnicode, utf8Encode } from "./unicode.js";
import type { VocabData } from "./vocab.js";

const CACHE_LIMIT = 1 << 16;

export class BpeModel implements MergeRule {
  private readonly nVocab: number;
  /** (left symbol id, right symbol id) -> merge rank (the first listing of a pair keeps its rank). */
  private readonly ranks: PairTable;
  /** rank -> symbol id of the merged text. */
  private readonly mergedId: Int32Array;
  /** Texts that merges mention but the vocabulary lacks: symbol id nVocab + k. */
  private readonly extraText: string[] = [];
  /** Symbol id of each single byte; -1 - b when that byte char is neither a token nor in a merge. */
  private readonly byteSym = new Int32Array(256);
  private readonly cache = new Map<string, number[]>();

  /** Scratch for one piece: symbol ids, lengths in bytes, links, merge queue. */
  private readonly list = new SymbolList();

  constructor(
    private readonly vocab: VocabData,
    readonly pre: PreTokenizer,
  ) {
    const { textToId, merges } = vocab;
    this.nVocab = vocab.tokens.length;
    const extra = new Map<string, number>();
    const idOf = (t: string): number => {
      let id = textToId.get(t) ?? extra.get(t);
      if (id === undefined) {
        id = this.nVocab + this.extraText.length;
        this.extraText.push(t);
        extra.set(t, id);
      }
      return id;
    };
    this.ranks = new PairTable(merges.length, Infinity);
    this.mergedId = new Int32Array(merges.length);
    merges.forEach((m, rank) => {
      // Split at the first space after position 0 (a merge side may itself start with a space).
      // A merge without one names no pair of non-empty symbols and can never apply.
      const pos = m.indexOf(" ", 1);
      if (pos < 0) return;
      const a = idOf(m.slice(0, pos));
      const b = idOf(m.slice(pos + 1));
      if (this.ranks.get(a, b) !== PAIR_ABSENT) return;
      this.ranks.set(a, b, rank);
      this.mergedId[rank] = idOf(m.slice(0, pos) + m.slice(pos + 1));
    });
    for (let b = 0; b < 256; b++) {
      const c = byteToUnicode[b];
      this.byteSym[b] = textToId.get(c) ?? extra.get(c) ?? -1 - b;
    }
  }

  /** Append the ids of one raw-text fragment (no special tokens inside) to `out`. */
  encodeFragment(text: string, out: number[]): void {
    for (const piece of preTokenize(text, this.pre)) {
      // Keyed by the raw piece, so a hit skips the UTF-8 + byte-char encoding too.
      let ids = this.cache.get(piece);
      if (ids === undefined) {
        ids = this.encodePiece(piece);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(piece, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
  }

  /** Queue the pair (l, r) if a merge joins their symbols (SymbolList's MergeRule). */
  queuePair(l: number, r: number): void {
    if (l < 0 || r < 0) return;
    const { sym, len, queue } = this.list;
    const a = sym[l];
    const b = sym[r];
    if (a < 0 || b < 0) return;
    const rank = this.ranks.get(a, b);
    if (rank === PAIR_ABSENT) return;
    // Lowest rank first = highest score; ties go to the leftmost pair.
    queue.push(-rank, l, r, len[l] + len[r], this.mergedId[rank]);
  }

  /** BPE-merge one pre-token piece: one symbol per UTF-8 byte, lowest merge rank first. */
  encodePiece(piece: string): number[] {
    const { textToId } = this.vocab;
    if (this.pre.ignoreMerges) {
      const id = textToId.get(byteEncode(piece));
      if (id !== undefined) return [id];
    }
    const bytes = utf8Encode(piece);
    const n = bytes.length;
    const list = this.list;
    list.reserve(n);
    for (let i = 0; i < n; i++) list.set(i, this.byteSym[bytes[i]], 1);
    list.mergeAll(n, this);
    const { sym, next } = list;
    const ids: number[] = [];
    for (let i = 0; i !== -1 && n > 0; i = next[i]) {
      const id = sym[i];
      if (id >= 0 && id < this.nVocab) {
        ids.push(id);
        continue;
      }
      // Not a token: fall back to the single-byte pieces of the symbol's text. Only ASCII chars
      // can be one-byte tokens; other bytes have no token and are dropped, like the reference.
      // (A byte whose char is in no token and no merge, id < 0, is such a non-ASCII byte.)
      if (id < 0) continue;
      for (const ch of this.extraText[id - this.nVocab]) {
        if (ch.charCodeAt(0) < 0x80) {
          const b = textToId.get(ch);
          if (b !== undefined) ids.push(b);
        }
      }
    }
    return ids;
  }
}
