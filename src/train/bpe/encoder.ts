/**
 * Encoder for a trained BPE model, the same algorithm llama.cpp's gpt2 tokenizer applies: split
 * at special tokens, pre-tokenize, then within each pre-token repeatedly merge the adjacent pair
 * with the lowest merge rank. Results are cached per pre-token (the corpus repeats them a lot).
 */
import { TokenizerError } from "../../errors.js";
import { preTokenize, splitSpecials } from "./pretokenize.js";
import type { BpeModel } from "./trainer.js";

const utf8 = new TextEncoder();
const PAIR = 1 << 16;

export class BpeEncoder {
  private readonly rank = new Map<number, number>();
  private readonly cache = new Map<string, number[]>();
  private readonly specialIds: Map<string, number>;
  private readonly specialList: string[];

  /** `specials`: special token text -> id (ids above the BPE tokens). */
  constructor(
    readonly model: BpeModel,
    specials: ReadonlyMap<string, number>,
  ) {
    model.merges.forEach(([l, r], i) => this.rank.set(l * PAIR + r, i));
    this.specialIds = new Map(specials);
    this.specialList = [...specials.keys()];
  }

  encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const s = Array.from(utf8.encode(word));
    for (;;) {
      let bestRank = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < s.length; i++) {
        const r = this.rank.get(s[i] * PAIR + s[i + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          at = i;
        }
      }
      if (at < 0) break;
      // merge every occurrence of that pair, left to right (what rank-ordered BPE does)
      const [l, r] = this.model.merges[bestRank];
      const id = 256 + bestRank;
      const ns: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === l && s[i + 1] === r) {
          ns.push(id);
          i++;
        } else ns.push(s[i]);
      }
      s.length = 0;
      s.push(...ns);
    }
    if (this.cache.size < 1 << 20) this.cache.set(word, s);
    return s;
  }

  /** Token ids of `text`; special token strings inside it become their ids. */
  encode(text: string, out: number[] = []): number[] {
    for (const piece of splitSpecials(text, this.specialList)) {
      if (piece.special) {
        const id = this.specialIds.get(piece.text);
        if (id === undefined) throw new TokenizerError(`unknown special token ${piece.text}`);
        out.push(id);
      } else {
        for (const w of preTokenize(piece.text)) for (const t of this.encodeWord(w)) out.push(t);
      }
    }
    return out;
  }

  /** Bytes of the ids, decoded as UTF-8 (special tokens as their text). */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    const specialText = new Map([...this.specialIds].map(([t, i]) => [i, t]));
    for (const id of ids) {
      const sp = specialText.get(id);
      if (sp !== undefined) bytes.push(...utf8.encode(sp));
      else {
        const b = this.model.tokenBytes[id];
        if (!b) throw new TokenizerError(`token id ${id} out of range`);
        bytes.push(...b);
      }
    }
    return new TextDecoder().decode(Uint8Array.from(bytes));
  }
}
