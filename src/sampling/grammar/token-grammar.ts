import { Automaton, T_DEAD, T_UNKNOWN, type GrammarState } from "./automaton.js";
import type { Grammar } from "./grammar.js";
import { TokenTrie } from "./token-trie.js";

/** What the grammar needs from a tokenizer. */
export interface TokenVocab {
  readonly nVocab: number;
  /** Token bytes as decoded text (empty for control tokens). */
  tokenBytes(id: number, special?: boolean): Uint8Array;
  isEog(id: number): boolean;
}

const MAX_CACHED_MASKS = 512;

/** Trie + end-of-generation ids of a vocabulary, shared by every grammar over it. */
export class VocabIndex {
  readonly nVocab: number;
  readonly trie: TokenTrie;
  readonly eog: Int32Array;
  readonly pieces: Uint8Array[];

  constructor(vocab: TokenVocab, special: Iterable<number> = []) {
    const sp = new Set(special);
    this.nVocab = vocab.nVocab;
    const pieces: Uint8Array[] = new Array(vocab.nVocab);
    const eog: number[] = [];
    for (let id = 0; id < vocab.nVocab; id++) {
      if (vocab.isEog(id) && !sp.has(id)) {
        eog.push(id);
        pieces[id] = new Uint8Array(0);
      } else pieces[id] = vocab.tokenBytes(id, sp.has(id));
    }
    this.pieces = pieces;
    this.eog = Int32Array.from(eog);
    this.trie = new TokenTrie(pieces);
  }

  private static cache = new WeakMap<object, VocabIndex>();
  /** One index per tokenizer object (building one over 150k tokens takes a few hundred ms). */
  static of(vocab: TokenVocab): VocabIndex {
    let v = VocabIndex.cache.get(vocab);
    if (!v) {
      v = new VocabIndex(vocab);
      VocabIndex.cache.set(vocab, v);
    }
    return v;
  }
}

export class TokenGrammar {
  readonly automaton: Automaton;
  private readonly cached: GrammarState[] = [];
  /** Mask computations and cache hits, for benchmarks. */
  stats = { walks: 0, hits: 0 };

  constructor(
    readonly grammar: Grammar,
    readonly vocab: VocabIndex,
  ) {
    this.automaton = new Automaton(grammar);
  }

  get nVocab(): number {
    return this.vocab.nVocab;
  }

  /** Bitset of allowed tokens in a state (do not modify; it is cached). */
  mask(st: GrammarState): Uint32Array {
    if (st.mask) {
      this.stats.hits++;
      return st.mask;
    }
    this.stats.walks++;
    const m = this.walk(st);
    st.mask = m;
    this.cached.push(st);
    if (this.cached.length > MAX_CACHED_MASKS) delete this.cached.shift()!.mask;
    return m;
  }

  private walk(root: GrammarState): Uint32Array {
    for (;;) {
      const a = this.automaton;
      const gen = a.gen;
      const m = this.walkOnce(a.current(root));
      if (a.gen === gen) return m;
      // The automaton started a new generation mid-walk (state cap): indices changed, redo.
    }
  }

  private walkOnce(root: GrammarState): Uint32Array {
    const t = this.vocab.trie;
    const a = this.automaton;
    const mask = new Uint32Array((this.vocab.nVocab + 31) >>> 5);
    // State index reached at each trie depth (0 = the root state).
    const stack = new Int32Array(t.maxDepth + 1);
    stack[0] = root.idx;
    const { byte, depth, end, tokStart, tokCount, ids } = t;
    const n = t.nodeCount;
    const gen = a.gen;
    let table = a.table;
    let i = 0;
    while (i < n) {
      const d = depth[i];
      const from = stack[d - 1];
      let s = table[from * 256 + byte[i]];
      if (s === T_UNKNOWN) {
        const next = a.advance(a.list[from], byte[i]);
        if (a.gen !== gen) return mask; // caller redoes the walk
        table = a.table; // may have grown
        s = next ? next.idx : T_DEAD;
      }
      if (s === T_DEAD) {
        i = end[i];
        continue;
      }
      stack[d] = s;
      const c = tokCount[i];
      if (c) {
        for (let k = tokStart[i], e = k + c; k < e; k++) {
          const id = ids[k];
          mask[id >>> 5] |= 1 << (id & 31);
        }
      }
      i++;
    }
    if (root.accepting) for (const id of this.vocab.eog) mask[id >>> 5] |= 1 << (id & 31);
    return mask;
  }

  /** Whether one token is allowed in a state (cheap: walks only its bytes). */
  allows(st: GrammarState, id: number): boolean {
    if (id < 0 || id >= this.vocab.nVocab) return false;
    if (st.mask) return (st.mask[id >>> 5] & (1 << (id & 31))) !== 0;
    const p = this.vocab.pieces[id];
    if (p.length === 0) return st.accepting && this.vocab.eog.includes(id);
    return this.automaton.advanceBytes(st, p) !== null;
  }

  /** State after a (non-EOG) token, or null when not allowed. */
  next(st: GrammarState, id: number): GrammarState | null {
    const p = this.vocab.pieces[id];
    if (p.length === 0) return null;
    return this.automaton.advanceBytes(st, p);
  }

  isEog(id: number): boolean {
    return this.vocab.eog.includes(id);
  }
}
