/**
 * Pushdown recognizer over bytes for a compiled Grammar, in the style of llama.cpp's grammar
 * stacks: a parse stack is a linked list of positions (top = the element to match next, below =
 * return positions after rule references). A *state* is the set of all stacks whose top is a
 * terminal (or the empty stack, meaning the input so far is a complete sentence).
 *
 * Stacks are hash-consed (equal stacks are one object) and states are interned by their sorted
 * stack ids and numbered, so a state's transition on a byte is computed once and memoised in one
 * flat table (`table[idx * 256 + b]`: UNKNOWN, DEAD or the next state's index). The token-mask
 * walk then costs one typed-array read per trie edge in the common case. When the state count
 * passes a cap, the tables start afresh (a new generation); states from an older generation are
 * re-interned on use, so matchers holding them stay valid.
 *
 * Rule references whose continuation is the end of an alternative do not push a return position
 * (a tail call), so right recursion such as `chars ::= char chars | ` runs in constant depth.
 */
import { InputError } from "../../errors.js";
import { K_BYTES, K_END, type Grammar } from "./grammar.js";

interface StackNode {
  readonly pos: number;
  readonly next: StackNode | null;
  readonly id: number;
  /** Number of frames in this stack. */
  readonly depth: number;
}

export interface GrammarState {
  /** Live stacks with a terminal on top; `null` entry = empty stack (accepting). */
  readonly leaves: (StackNode | null)[];
  /** The input so far is a complete sentence. */
  readonly accepting: boolean;
  /** Index in the transition table of generation `gen`. */
  readonly idx: number;
  readonly gen: number;
  /** Bytes some leaf can consume (union of the leaves' terminal sets). */
  readonly firstBytes: Uint8Array;
  /** Cached token mask (owned by TokenGrammar). */
  mask?: Uint32Array;
}

/** Stacks deeper than this mean runaway nesting; reject rather than grow without bound. */
const MAX_DEPTH = 2048;
/** More live stacks than this means a hopelessly ambiguous grammar. */
const MAX_LEAVES = 4096;
/** Interned states before the tables start afresh (256 Int32 transitions each: 32 MiB). */
const MAX_STATES = 32_768;
export const T_UNKNOWN = -2;
export const T_DEAD = -1;

export class Automaton {
  private _initial!: GrammarState;
  private nodes = new Map<number, StackNode>();
  private states = new Map<string, GrammarState>();
  /** State by index (current generation). */
  list: GrammarState[] = [];
  /** Transitions: table[idx * 256 + byte] = next index, T_DEAD or T_UNKNOWN. */
  table = new Int32Array(256 * 64).fill(T_UNKNOWN);
  gen = 0;
  private nextId = 1;

  constructor(readonly grammar: Grammar) {
    this.reset();
  }

  private reset(): void {
    this.gen++;
    this.nodes = new Map();
    this.states = new Map();
    this.list = [];
    this.table = new Int32Array(256 * 64).fill(T_UNKNOWN);
    const g = this.grammar;
    this._initial = this.stateOf([...g.ruleAlts[g.root]].map((p) => this.node(p, null)));
  }

  get initial(): GrammarState {
    return this._initial;
  }

  get stateCount(): number {
    return this.list.length;
  }

  /** The same state in the current generation. */
  current(st: GrammarState): GrammarState {
    if (st.gen === this.gen) return st;
    const copy = (n: StackNode | null): StackNode | null => (n ? this.node(n.pos, copy(n.next)) : null);
    return this.stateOf(st.leaves.map(copy));
  }

  private node(pos: number, next: StackNode | null): StackNode {
    const key = pos * 0x100000000 + (next ? next.id : 0);
    let n = this.nodes.get(key);
    if (!n) {
      const depth = next ? next.depth + 1 : 1;
      if (depth > MAX_DEPTH) {
        throw new InputError(`grammar nesting deeper than ${MAX_DEPTH}`, {
          hint: "the input is too deeply nested",
        });
      }
      n = { pos, next, id: this.nextId++, depth };
      this.nodes.set(key, n);
    }
    return n;
  }

  /** Expand stacks until each has a terminal on top (or is empty); return the interned state. */
  private stateOf(stacks: (StackNode | null)[]): GrammarState {
    const g = this.grammar;
    const leaves = new Map<number, StackNode | null>();
    const seen = new Set<number>();
    const expand = (s: StackNode | null, depth: number): void => {
      for (;;) {
        if (s === null) {
          leaves.set(0, null);
          return;
        }
        if (seen.has(s.id)) return;
        seen.add(s.id);
        const k = g.kind[s.pos];
        if (k === K_END) {
          s = s.next; // alternative finished: continue at the return position
          depth--;
          continue;
        }
        if (k === K_BYTES) {
          leaves.set(s.id, s);
          if (leaves.size > MAX_LEAVES) {
            throw new InputError(`grammar is too ambiguous (more than ${MAX_LEAVES} parse stacks)`);
          }
          return;
        }
        // K_REF: push the continuation (unless it is the end: tail call), then each alternative.
        const rest = g.kind[s.pos + 1] === K_END ? s.next : this.node(s.pos + 1, s.next);
        for (const alt of g.ruleAlts[g.arg[s.pos]]) expand(this.node(alt, rest), depth + 1);
        return;
      }
    };
    for (const s of stacks) expand(s, 0);
    const ids = [...leaves.keys()].sort((a, b) => a - b);
    const key = ids.join(",");
    let st = this.states.get(key);
    if (!st) {
      const firstBytes = new Uint8Array(256);
      const list = ids.map((id) => leaves.get(id)!);
      for (const l of list) {
        if (l === null) continue;
        const set = g.sets[g.arg[l.pos]];
        for (let b = 0; b < 256; b++) firstBytes[b] |= set[b];
      }
      const idx = this.list.length;
      st = { leaves: list, accepting: leaves.has(0), idx, gen: this.gen, firstBytes };
      this.states.set(key, st);
      this.list.push(st);
      if ((idx + 1) * 256 > this.table.length) {
        const t = new Int32Array(this.table.length * 2).fill(T_UNKNOWN);
        t.set(this.table);
        this.table = t;
      }
    }
    return st;
  }

  /** The state after consuming byte b, or null when b is not allowed. */
  advance(st: GrammarState, b: number): GrammarState | null {
    if (st.gen !== this.gen) st = this.current(st);
    const t = this.table[st.idx * 256 + b];
    if (t !== T_UNKNOWN) return t === T_DEAD ? null : this.list[t];
    if (this.list.length >= MAX_STATES) {
      this.reset();
      return this.advance(st, b);
    }
    let out: GrammarState | null = null;
    if (st.firstBytes[b]) {
      const g = this.grammar;
      const next: StackNode[] = [];
      for (const l of st.leaves) {
        if (l !== null && g.sets[g.arg[l.pos]][b]) next.push(this.node(l.pos + 1, l.next));
      }
      out = this.stateOf(next);
    }
    // stateOf may have grown (reallocated) the table; index it afresh.
    if (st.gen === this.gen) this.table[st.idx * 256 + b] = out ? out.idx : T_DEAD;
    return out;
  }

  /** Advance over a byte string; null when some byte is not allowed. */
  advanceBytes(st: GrammarState, bytes: Uint8Array): GrammarState | null {
    let s: GrammarState | null = st;
    for (let i = 0; i < bytes.length && s; i++) s = this.advance(s, bytes[i]);
    return s;
  }

  /** Whether a byte string is a complete sentence of the grammar. */
  matches(bytes: Uint8Array): boolean {
    const s = this.advanceBytes(this.initial, bytes);
    return s?.accepting ?? false;
  }
}
