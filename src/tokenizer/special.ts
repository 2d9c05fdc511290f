/**
 * Special-token partitioning: before the model tokenizer runs, the text is cut at every
 * occurrence of a control / user-defined / unknown token's text, and those occurrences become
 * their ids directly.
 *
 * - User-defined tokens are always matched (HF added tokens behave the same).
 * - Control and unknown tokens are matched only when the caller asks (`parseSpecial`), so user
 *   text that happens to contain "<|im_end|>" cannot inject a control token by default.
 * - Longer token texts are matched first; each token splits all remaining text fragments.
 */
import { Attr, type VocabData } from "./vocab.js";

/** A text fragment still to be tokenized, or an already-resolved token id. */
export type Fragment = { text: string } | { id: number };

interface TrieNode {
  next: Map<number, TrieNode>;
  ids: number[];
}

export class SpecialMatcher {
  /** Ids of tokens that may be matched in text, longest text first (ties by id). */
  private readonly ids: number[];

  constructor(private readonly vocab: VocabData) {
    const ids: number[] = [];
    const mask = Attr.Control | Attr.UserDefined | Attr.Unknown;
    for (let i = 0; i < vocab.tokens.length; i++) if (vocab.attrs[i] & mask) ids.push(i);
    // Sort by UTF-8 byte length like the reference (UTF-16 length can order differently).
    const utf8 = new TextEncoder();
    const blen = (i: number) => utf8.encode(vocab.tokens[i]).length;
    ids.sort((a, b) => blen(b) - blen(a) || a - b);
    this.ids = ids;
    for (const id of ids) {
      let node = this.trie;
      for (let k = 0; k < vocab.tokens[id].length; k++) {
        const c = vocab.tokens[id].charCodeAt(k);
        let child = node.next.get(c);
        if (!child) {
          child = { next: new Map(), ids: [] };
          node.next.set(c, child);
        }
        node = child;
      }
      node.ids.push(id);
      this.firstUnit[vocab.tokens[id].charCodeAt(0)] = 1;
    }
  }

  /** firstUnit[u] = 1 when some matchable token starts with UTF-16 unit u (skips most positions). */
  private readonly firstUnit = new Uint8Array(65536);

  /** Trie over special token texts (UTF-16 units), to find which of them occur in a text at all. */
  private readonly trie: TrieNode = { next: new Map(), ids: [] };

  /** Ids of matchable tokens that occur somewhere in `text`. */
  private occurring(text: string): Set<number> {
    const found = new Set<number>();
    const root = this.trie;
    const first = this.firstUnit;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (first[c] === 0) continue;
      let node = root.next.get(c);
      for (let j = i + 1; node; j++) {
        for (const id of node.ids) found.add(id);
        if (j >= text.length) break;
        node = node.next.get(text.charCodeAt(j));
      }
    }
    return found;
  }

  /**
   * Cut `text` at special-token occurrences, with the reference's result: tokens in `ids` order,
   * each taking its leftmost non-overlapping occurrences inside the text still unclaimed, with
   * LSTRIP/RSTRIP dropping the adjacent whitespace of that fragment. Instead of re-splitting a
   * fragment list per token (O(tokens x fragments)), positions of the original text carry a state
   * (text / token / dropped), so each token costs one indexOf walk over its occurrences.
   */
  partition(text: string, parseSpecial: boolean): Fragment[] {
    if (text.length === 0) return [];
    // Only tokens present in the original text can be present in any of its fragments.
    const present = this.occurring(text);
    if (present.size === 0) return [{ text }];
    const { tokens, attrs } = this.vocab;
    const n = text.length;
    const state = new Uint8Array(n); // TEXT, TOKEN or DROPPED per UTF-16 unit
    const matchId = new Int32Array(n); // token id at the first unit of each TOKEN run
    for (const id of this.ids) {
      if (!present.has(id)) continue;
      const a = attrs[id];
      if (!parseSpecial && a & (Attr.Control | Attr.Unknown)) continue;
      const t = tokens[id];
      const len = t.length;
      for (let from = 0; ;) {
        const p = text.indexOf(t, from);
        if (p < 0) break;
        // Already claimed units inside [p, p+len): the occurrence straddles fragments. Any later
        // occurrence that starts at or before the last claimed unit straddles it too.
        let q = p + len - 1;
        while (q >= p && state[q] === TEXT) q--;
        if (q >= p) {
          from = q + 1;
          continue;
        }
        state.fill(TOKEN, p, p + len);
        matchId[p] = id;
        if (a & Attr.Lstrip)
          for (let i = p - 1; i >= 0 && state[i] === TEXT && isSpace(text.charCodeAt(i)); i--)
            state[i] = DROPPED;
        let e = p + len;
        if (a & Attr.Rstrip)
          for (; e < n && state[e] === TEXT && isSpace(text.charCodeAt(e)); e++) state[e] = DROPPED;
        from = e;
      }
    }
    const out: Fragment[] = [];
    let run = -1; // start of the current TEXT run
    for (let i = 0; i < n;) {
      const s = state[i];
      if (s === TEXT) {
        if (run < 0) run = i;
        i++;
        continue;
      }
      if (run >= 0) {
        out.push({ text: text.slice(run, i) });
        run = -1;
      }
      if (s === TOKEN) {
        out.push({ id: matchId[i] });
        i += tokens[matchId[i]].length;
      } else i++;
    }
    if (run >= 0) out.push({ text: run === 0 ? text : text.slice(run) });
    return out;
  }
}

const TEXT = 0;
const TOKEN = 1;
const DROPPED = 2;

/** C isspace: space, \t, \n, \v, \f, \r (the reference strips with it). */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
