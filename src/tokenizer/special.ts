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
    const blen = (i: number) => Buffer.byteLength(vocab.tokens[i], "utf8");
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
    }
  }

  /** Trie over special token texts (UTF-16 units), to find which of them occur in a text at all. */
  private readonly trie: TrieNode = { next: new Map(), ids: [] };

  /** Ids of matchable tokens that occur somewhere in `text`. */
  private occurring(text: string): Set<number> {
    const found = new Set<number>();
    const root = this.trie;
    for (let i = 0; i < text.length; i++) {
      let node = root.next.get(text.charCodeAt(i));
      for (let j = i + 1; node; j++) {
        for (const id of node.ids) found.add(id);
        if (j >= text.length) break;
        node = node.next.get(text.charCodeAt(j));
      }
    }
    return found;
  }

  partition(text: string, parseSpecial: boolean): Fragment[] {
    let frags: Fragment[] = text.length > 0 ? [{ text }] : [];
    const { tokens, attrs } = this.vocab;
    // Only tokens present in the original text can be present in any of its fragments.
    const present = this.occurring(text);
    if (present.size === 0) return frags;
    for (const id of this.ids) {
      if (!present.has(id)) continue;
      const a = attrs[id];
      if (!parseSpecial && a & (Attr.Control | Attr.Unknown)) continue;
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
          if (a & Attr.Lstrip) left = left.replace(/[ \t\n\v\f\r]+$/, "");
          if (left.length > 0) out.push({ text: left });
          out.push({ id });
          s = s.slice(at + t.length);
          if (a & Attr.Rstrip) s = s.replace(/^[ \t\n\v\f\r]+/, "");
        }
      }
      frags = out;
    }
    return frags;
  }
}
