/**
 * The one expression evaluator (recursive descent over a token list, never an eval of the text),
 * in two dialects of one grammar:
 *
 *   arithmetic  what verifiers, the router and evals read out of questions and reasoning steps:
 *               integers and decimals ("1,000" thousands separators, ".5"), + - * / and the
 *               written symbols × x ÷ − (x = times), unary + and -, parentheses.
 *               `evaluate(expr)` -> number | undefined (anything else is "not an expression").
 *   calculator  the calculator tool: arithmetic without "x"/thousands separators, plus % ^ **,
 *               e-notation, constants (pi e tau) and functions (sqrt sin ln log min max ...).
 *               `evaluateStrict(expr)` -> number, or an InputError saying what was wrong.
 *
 *   sum     := product (("+" | "-") product)*
 *   product := unary (("*" | "/" | "%") unary)*
 *   unary   := ("+" | "-") unary | power
 *   power   := atom (("^" | "**") unary)?          right-associative; -2^2 = -4
 *   atom    := number | name | name "(" sum ("," sum)* ")" | "(" sum ")"
 *
 * Division (or %) by zero, nesting deeper than 200 and a non-finite result are errors.
 */
import { InputError } from "../errors.js";

export type Dialect = "arithmetic" | "calculator";

const FUNCS: Record<string, (...a: number[]) => number> = {
  sqrt: Math.sqrt,
  abs: Math.abs,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  ln: Math.log,
  log: Math.log10,
  log10: Math.log10,
  log2: Math.log2,
  exp: Math.exp,
  floor: Math.floor,
  ceil: Math.ceil,
  round: Math.round,
  min: Math.min,
  max: Math.max,
  pow: Math.pow,
  hypot: Math.hypot,
};
const CONSTS: Record<string, number> = { pi: Math.PI, e: Math.E, tau: 2 * Math.PI };
const MAX_LEN = 10000;
const MAX_DEPTH = 200;

const TOKENS: Record<Dialect, RegExp> = {
  arithmetic: /\d+(?:\.\d+)?|\.\d+|[-+*/()×x÷−]|\S/g,
  calculator:
    /\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|[A-Za-z_][A-Za-z_0-9]*|\*\*|[-+*/%^(),×÷−]|\S/g,
};
const SYMBOL: Record<string, string> = { "×": "*", "÷": "/", "−": "-" };

class ParseError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

function lex(src: string, dialect: Dialect): string[] {
  // "1,000 x 3": a comma before exactly three digits is a thousands separator (arithmetic only;
  // in the calculator a comma separates function arguments).
  const s = dialect === "arithmetic" ? src.replace(/,(?=\d{3}\b)/g, "") : src;
  return (s.match(TOKENS[dialect]) ?? []).map((t) =>
    dialect === "arithmetic" && t === "x" ? "*" : (SYMBOL[t] ?? t),
  );
}

function parse(src: string, dialect: Dialect): number {
  const toks = lex(src, dialect);
  const calc = dialect === "calculator";
  let i = 0;
  let depth = 0;
  const peek = () => toks[i];
  const fail = (msg: string): never => {
    throw new ParseError(msg, i);
  };
  const expect = (t: string) => {
    if (toks[i] !== t)
      fail(`expected '${t}' but found ${toks[i] === undefined ? "end of input" : `'${toks[i]}'`}`);
    i++;
  };
  const nest = () => {
    if (++depth > MAX_DEPTH) fail("expression nested too deeply");
  };
  const sum = (): number => {
    nest();
    let v = product();
    while (peek() === "+" || peek() === "-") v = toks[i++] === "+" ? v + product() : v - product();
    depth--;
    return v;
  };
  const product = (): number => {
    let v = unary();
    for (;;) {
      const op = peek();
      if (op !== "*" && op !== "/" && (op !== "%" || !calc)) return v;
      i++;
      const r = unary();
      if ((op === "/" || op === "%") && r === 0) fail("division by zero");
      v = op === "*" ? v * r : op === "/" ? v / r : v % r;
    }
  };
  const unary = (): number => {
    if (peek() === "-" || peek() === "+") {
      nest();
      const neg = toks[i++] === "-";
      const v = unary();
      depth--;
      return neg ? -v : v;
    }
    return power();
  };
  const power = (): number => {
    const base = atom();
    if (calc && (peek() === "^" || peek() === "**")) {
      i++;
      return Math.pow(base, unary());
    }
    return base;
  };
  const atom = (): number => {
    const t = peek();
    if (t === undefined) return fail("unexpected end of input");
    if (t === "(") {
      i++;
      const v = sum();
      expect(")");
      return v;
    }
    if (/^[\d.]/.test(t)) {
      i++;
      return Number(t);
    }
    if (calc && /^[A-Za-z_]/.test(t)) {
      i++;
      const name = t.toLowerCase();
      if (peek() === "(") {
        const f = FUNCS[name];
        if (!f) fail(`unknown function '${t}'`);
        i++;
        const args = [sum()];
        while (peek() === ",") {
          i++;
          args.push(sum());
        }
        expect(")");
        return f(...args);
      }
      if (name in CONSTS) return CONSTS[name];
      fail(`unknown name '${t}'`);
    }
    return fail(`unexpected '${t}'`);
  };
  const v = sum();
  if (i < toks.length) fail(`unexpected '${toks[i]}'`);
  if (!Number.isFinite(v)) fail("result is not a finite number");
  return v;
}

/** Value of an arithmetic expression, or undefined when it is not one (or divides by zero). */
export function evaluate(expr: string): number | undefined {
  try {
    return parse(expr, "arithmetic");
  } catch (e) {
    if (e instanceof ParseError) return undefined;
    throw e;
  }
}

/** Value of an expression in `dialect` (default calculator), or an InputError naming the problem. */
export function evaluateStrict(src: string, dialect: Dialect = "calculator"): number {
  if (typeof src !== "string") throw new InputError("expression must be a string");
  if (src.length > MAX_LEN) throw new InputError(`expression longer than ${MAX_LEN} characters`);
  try {
    return parse(src, dialect);
  } catch (e) {
    if (e instanceof ParseError) throw new InputError(`${dialect}: ${e.message}`, { offset: e.at });
    throw e;
  }
}

/** Equal up to float rounding of decimals. */
export function sameNumber(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}
