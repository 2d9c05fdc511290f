/**
 * Context-free grammar over bytes, as rules of alternatives of element sequences, and its compiled
 * flat form. Elements are byte sets (terminals, one byte each) or references to rules; repetition
 * and groups are lowered into generated rules by the builder (X* -> R ::= X R | ε, a right
 * recursion whose tail call the automaton does not stack).
 *
 * Compiled form: every alternative is a run in `kind`/`arg` ended by END, so a parse position is a
 * single integer. `ruleAlts[r]` lists the start positions of rule r's alternatives.
 */
import { InputError } from "../../errors.js";
import { utf8Sequences, type ByteSeq } from "./utf8-ranges.js";
import { bytesToLatin1 } from "./latin1.js";

export type Elem = { kind: "bytes"; set: Uint8Array } | { kind: "ref"; rule: number };
export type Alt = Elem[];

export const K_END = 0;
export const K_BYTES = 1;
export const K_REF = 2;

export interface Grammar {
  /** Element kind per position (K_END, K_BYTES, K_REF). */
  readonly kind: Uint8Array;
  /** K_BYTES: index into `sets`; K_REF: rule index. */
  readonly arg: Int32Array;
  /** 256-entry membership tables (1 = byte allowed). */
  readonly sets: Uint8Array[];
  /** Start positions of each rule's alternatives. */
  readonly ruleAlts: Int32Array[];
  readonly names: string[];
  readonly root: number;
}

export function byteSet(ranges: Iterable<readonly [number, number]>): Uint8Array {
  const s = new Uint8Array(256);
  for (const [lo, hi] of ranges) for (let b = lo; b <= hi; b++) s[b] = 1;
  return s;
}

export class GrammarBuilder {
  readonly names: string[] = [];
  readonly alts: (Alt[] | undefined)[] = [];
  private readonly index = new Map<string, number>();
  private generated = 0;

  /** Rule index for a name (created undefined if new). */
  ruleId(name: string): number {
    let id = this.index.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.alts.push(undefined);
      this.index.set(name, id);
    }
    return id;
  }

  isDefined(name: string): boolean {
    const id = this.index.get(name);
    return id !== undefined && this.alts[id] !== undefined;
  }

  define(name: string, alts: Alt[]): number {
    const id = this.ruleId(name);
    if (this.alts[id] !== undefined) throw new InputError(`grammar rule '${name}' defined twice`);
    this.alts[id] = alts;
    return id;
  }

  /** A new rule with a generated name (base_N). */
  fresh(base: string, alts: Alt[]): number {
    let name: string;
    do name = `${base}_${++this.generated}`;
    while (this.index.has(name));
    return this.define(name, alts);
  }

  literal(bytes: Uint8Array): Alt {
    return Array.from(bytes, (b) => ({ kind: "bytes", set: byteSet([[b, b]]) }) as Elem);
  }

  /** One code point from the given ranges: a single terminal when all are ASCII, else a rule. */
  charClass(ranges: [number, number][]): Elem {
    const seqs: ByteSeq[] = utf8Sequences(ranges);
    const single = seqs.filter((s) => s.length === 1).map((s) => s[0]);
    const multi = seqs.filter((s) => s.length > 1);
    const alts: Alt[] = [];
    if (single.length) alts.push([{ kind: "bytes", set: byteSet(single) }]);
    for (const s of multi) alts.push(s.map((r) => ({ kind: "bytes", set: byteSet([r]) }) as Elem));
    if (alts.length === 0) throw new InputError("empty character class matches nothing");
    if (alts.length === 1 && alts[0].length === 1) return alts[0][0];
    return { kind: "ref", rule: this.fresh("char", alts) };
  }

  /** Lower X{min,max} (max = Infinity for unbounded) into a sequence of elements. */
  repeat(x: Elem, min: number, max: number): Elem[] {
    if (!(min >= 0) || max < min) throw new InputError(`bad repetition {${min},${max}}`);
    const out: Elem[] = [];
    for (let i = 0; i < min; i++) out.push(x);
    if (max === Infinity) {
      // R ::= X R | ε
      const r = this.fresh("star", []);
      this.alts[r] = [[x, { kind: "ref", rule: r }], []];
      out.push({ kind: "ref", rule: r });
    } else if (max > min) {
      // Nested optionals: R_k ::= X R_{k+1} | ε, so a count has exactly one parse.
      let tail: number | undefined;
      for (let k = max - min; k >= 1; k--) {
        const alt: Alt = tail === undefined ? [x] : [x, { kind: "ref", rule: tail }];
        tail = this.fresh("opt", [alt, []]);
      }
      out.push({ kind: "ref", rule: tail! });
    }
    return out;
  }

  /** Group a list of alternatives as one element. */
  group(alts: Alt[]): Elem {
    if (alts.length === 1 && alts[0].length === 1) return alts[0][0];
    return { kind: "ref", rule: this.fresh("group", alts) };
  }

  compile(rootName = "root"): Grammar {
    const undef = this.names.filter((_, i) => this.alts[i] === undefined);
    if (undef.length) {
      throw new InputError(`grammar references undefined rule(s): ${undef.join(", ")}`);
    }
    const root = this.index.get(rootName);
    if (root === undefined) throw new InputError(`grammar has no '${rootName}' rule`);
    checkLeftRecursion(this.names, this.alts as Alt[][]);

    const kind: number[] = [];
    const arg: number[] = [];
    const sets: Uint8Array[] = [];
    const setIndex = new Map<string, number>();
    const ruleAlts: Int32Array[] = [];
    for (const alts of this.alts as Alt[][]) {
      const starts: number[] = [];
      for (const alt of alts) {
        starts.push(kind.length);
        for (const e of alt) {
          if (e.kind === "ref") {
            kind.push(K_REF);
            arg.push(e.rule);
          } else {
            const key = bytesToLatin1(e.set);
            let si = setIndex.get(key);
            if (si === undefined) {
              si = sets.length;
              sets.push(e.set);
              setIndex.set(key, si);
            }
            kind.push(K_BYTES);
            arg.push(si);
          }
        }
        kind.push(K_END);
        arg.push(0);
      }
      ruleAlts.push(Int32Array.from(starts));
    }
    return {
      kind: Uint8Array.from(kind),
      arg: Int32Array.from(arg),
      sets,
      ruleAlts,
      names: [...this.names],
      root,
    };
  }
}

/**
 * A rule that can reach itself without consuming a byte (left recursion) would make the
 * stack-based recognizer loop forever; reject it with the cycle named.
 */
function checkLeftRecursion(names: string[], alts: Alt[][]): void {
  const n = names.length;
  const nullable = new Array<boolean>(n).fill(false);
  for (let changed = true; changed;) {
    changed = false;
    for (let r = 0; r < n; r++) {
      if (nullable[r]) continue;
      if (alts[r].some((alt) => alt.every((e) => e.kind === "ref" && nullable[e.rule]))) {
        nullable[r] = true;
        changed = true;
      }
    }
  }
  // left[r]: rules reachable at the left edge of r.
  const left: number[][] = alts.map((as) => {
    const out: number[] = [];
    for (const alt of as) {
      for (const e of alt) {
        if (e.kind !== "ref") break;
        out.push(e.rule);
        if (!nullable[e.rule]) break;
      }
    }
    return out;
  });
  const state = new Uint8Array(n); // 0 new, 1 on path, 2 done
  const path: number[] = [];
  const visit = (r: number): void => {
    state[r] = 1;
    path.push(r);
    for (const s of left[r]) {
      if (state[s] === 1) {
        const cyc = path.slice(path.indexOf(s)).map((i) => names[i]);
        throw new InputError(`grammar is left-recursive: ${[...cyc, names[s]].join(" -> ")}`, {
          hint: "rewrite the rule with right recursion or repetition (X*)",
        });
      }
      if (state[s] === 0) visit(s);
    }
    path.pop();
    state[r] = 2;
  };
  for (let r = 0; r < n; r++) if (state[r] === 0) visit(r);
}
