/**
 * GBNF (the grammar notation llama.cpp uses) -> Grammar.
 *
 *   name ::= alt1 | alt2        rules; `root` is the start rule
 *   "literal"  [a-z0-9_]  [^"\\]  .   terminals (strings and classes are over code points, UTF-8)
 *   ( ... )  X*  X+  X?  X{m}  X{m,}  X{m,n}
 *   # comment to end of line
 * Escapes in strings and classes: \n \r \t \\ \" \] \[ \- \/ \xHH \uHHHH \UHHHHHHHH.
 * A rule runs until the next `name ::=` (so rules may span lines).
 */
import { InputError } from "../../errors.js";
import { GrammarBuilder, type Alt, type Elem, type Grammar } from "./grammar.js";
import { complementRanges, MAX_CODE_POINT } from "./utf8-ranges.js";

const NAME = /[A-Za-z0-9_-]/;
const MAX_REPEAT = 10000;

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly b: GrammarBuilder,
  ) {}

  private fail(msg: string): never {
    const before = this.src.slice(0, this.i);
    const line = before.split("\n").length;
    const col = this.i - before.lastIndexOf("\n");
    throw new InputError(`GBNF: ${msg} at line ${line}, column ${col}`, {
      offset: this.i,
      hint: `near: ${JSON.stringify(this.src.slice(this.i, this.i + 24))}`,
    });
  }

  private skipSpace(): void {
    const s = this.src;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.i++;
      else if (c === "#") while (this.i < s.length && s[this.i] !== "\n") this.i++;
      else break;
    }
  }

  private name(): string {
    const start = this.i;
    while (this.i < this.src.length && NAME.test(this.src[this.i])) this.i++;
    if (this.i === start) this.fail("expected a rule name");
    return this.src.slice(start, this.i);
  }

  /** True when the input at the cursor is `name ::=` (the start of the next rule). */
  private atRuleStart(): boolean {
    // No lookahead limit: generated rule names (deeply nested schemas, long property names) can
    // be hundreds of characters long.
    let j = this.i;
    while (j < this.src.length && NAME.test(this.src[j])) j++;
    if (j === this.i) return false;
    while (this.src[j] === " " || this.src[j] === "\t") j++;
    return this.src.startsWith("::=", j);
  }

  parseAll(): void {
    this.skipSpace();
    if (this.i >= this.src.length) this.fail("empty grammar");
    while (this.i < this.src.length) {
      const name = this.name();
      this.skipSpace();
      if (!this.src.startsWith("::=", this.i)) this.fail(`expected '::=' after '${name}'`);
      this.i += 3;
      const alts = this.alternatives(false);
      if (this.b.isDefined(name)) this.fail(`rule '${name}' defined twice`);
      this.b.define(name, alts);
      this.skipSpace();
    }
  }

  private alternatives(nested: boolean): Alt[] {
    const alts: Alt[] = [this.sequence(nested)];
    while (this.src[this.i] === "|") {
      this.i++;
      alts.push(this.sequence(nested));
    }
    return alts;
  }

  private sequence(nested: boolean): Alt {
    const seq: Elem[] = [];
    for (;;) {
      this.skipSpace();
      if (this.i >= this.src.length) break;
      const c = this.src[this.i];
      if (c === "|") break;
      if (c === ")") {
        if (!nested) this.fail("unbalanced ')'");
        break;
      }
      if (!nested && this.atRuleStart()) break;
      const atom = this.atom();
      seq.push(...this.postfix(atom));
    }
    return seq;
  }

  private atom(): Elem[] {
    const c = this.src[this.i];
    if (c === '"') return this.stringLit();
    if (c === "[") return [this.charClass()];
    if (c === ".") {
      this.i++;
      return [this.b.charClass([[0, MAX_CODE_POINT]])];
    }
    if (c === "(") {
      this.i++;
      const alts = this.alternatives(true);
      this.skipSpace();
      if (this.src[this.i] !== ")") this.fail("expected ')'");
      this.i++;
      return [this.b.group(alts)];
    }
    if (NAME.test(c)) return [{ kind: "ref", rule: this.b.ruleId(this.name()) }];
    this.fail(`unexpected character ${JSON.stringify(c)}`);
  }

  private postfix(atom: Elem[]): Elem[] {
    const c = this.src[this.i];
    const one = (): Elem => (atom.length === 1 ? atom[0] : this.b.group([atom]));
    if (c === "*" || c === "+" || c === "?") {
      this.i++;
      return this.b.repeat(one(), c === "+" ? 1 : 0, c === "?" ? 1 : Infinity);
    }
    if (c === "{") {
      this.i++;
      const m = /^\s*(\d+)\s*(?:(,)\s*(\d*)\s*)?\}/.exec(this.src.slice(this.i, this.i + 40));
      if (!m) this.fail("bad repetition, expected {m}, {m,} or {m,n}");
      this.i += m[0].length;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
      if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT))
        this.fail(`repetition over ${MAX_REPEAT}`);
      if (max < min) this.fail(`repetition {${min},${max}} has max < min`);
      return this.b.repeat(one(), min, max);
    }
    return atom;
  }

  /** One code point, unescaping. */
  private char(inClass: boolean): number {
    const s = this.src;
    if (this.i >= s.length) this.fail("unexpected end of input");
    if (s[this.i] !== "\\") {
      const cp = s.codePointAt(this.i)!;
      this.i += cp > 0xffff ? 2 : 1;
      return cp;
    }
    this.i++;
    const e = s[this.i++];
    const hex = (n: number): number => {
      const h = s.slice(this.i, this.i + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) this.fail(`bad \\${e} escape`);
      this.i += n;
      return parseInt(h, 16);
    };
    switch (e) {
      case "n":
        return 10;
      case "r":
        return 13;
      case "t":
        return 9;
      case "x":
        return hex(2);
      case "u":
        return hex(4);
      case "U":
        return hex(8);
      case "\\":
      case '"':
      case "[":
      case "]":
      case "-":
      case "/":
      case "^":
        return e.charCodeAt(0);
      default:
        this.fail(`unknown escape \\${e}${inClass ? " in character class" : ""}`);
    }
  }

  private stringLit(): Elem[] {
    this.i++; // opening quote
    const cps: number[] = [];
    while (this.src[this.i] !== '"') {
      if (this.i >= this.src.length) this.fail("unterminated string literal");
      cps.push(this.char(false));
    }
    this.i++;
    if (cps.length === 0) return [];
    const bytes = Buffer.from(String.fromCodePoint(...cps), "utf8");
    return this.b.literal(bytes);
  }

  private charClass(): Elem {
    this.i++; // [
    let negate = false;
    if (this.src[this.i] === "^") {
      negate = true;
      this.i++;
    }
    const ranges: [number, number][] = [];
    while (this.src[this.i] !== "]") {
      if (this.i >= this.src.length) this.fail("unterminated character class");
      const lo = this.char(true);
      let hi = lo;
      if (this.src[this.i] === "-" && this.src[this.i + 1] !== "]") {
        this.i++;
        hi = this.char(true);
        if (hi < lo) this.fail("character range is reversed");
      }
      ranges.push([lo, hi]);
    }
    this.i++;
    return this.b.charClass(negate ? complementRanges(ranges) : ranges);
  }
}

/** Parse GBNF text into a compiled grammar (start rule `root` unless named). */
export function parseGBNF(src: string, root = "root"): Grammar {
  if (typeof src !== "string") throw new InputError("grammar must be a string");
  const b = new GrammarBuilder();
  new Parser(src, b).parseAll();
  return b.compile(root);
}
