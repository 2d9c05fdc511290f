/**
 * Calculator tool: a recursive-descent parser over arithmetic expressions (no eval).
 *   expr   := term (("+" | "-") term)*
 *   term   := unary (("*" | "/" | "%") unary)*
 *   unary  := ("+" | "-") unary | power
 *   power  := atom ("^" | "**") unary        (right-associative; -2^2 = -4)
 *   atom   := number | name | name "(" args ")" | "(" expr ")"
 * Functions: sqrt abs sin cos tan asin acos atan ln log log10 log2 exp floor ceil round min max
 * pow hypot; constants pi, e, tau. Results must be finite.
 */
import { InputError } from "../../errors.js";
import type { Tool } from "../registry.js";

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

export function evaluate(src: string): number {
  if (typeof src !== "string") throw new InputError("expression must be a string");
  if (src.length > MAX_LEN) throw new InputError(`expression longer than ${MAX_LEN} characters`);
  const toks =
    src.match(
      /\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|[A-Za-z_][A-Za-z_0-9]*|\*\*|[-+*/%^(),]|\S/g,
    ) ?? [];
  let i = 0;
  let depth = 0;
  const peek = () => toks[i];
  const fail = (msg: string): never => {
    throw new InputError(`calculator: ${msg}`, { offset: i });
  };
  const expect = (t: string) => {
    if (toks[i] !== t)
      fail(`expected '${t}' but found ${toks[i] === undefined ? "end of input" : `'${toks[i]}'`}`);
    i++;
  };
  const expr = (): number => {
    if (++depth > 200) fail("expression nested too deeply");
    let v = term();
    while (peek() === "+" || peek() === "-") v = toks[i++] === "+" ? v + term() : v - term();
    depth--;
    return v;
  };
  const term = (): number => {
    let v = unary();
    for (;;) {
      const op = peek();
      if (op !== "*" && op !== "/" && op !== "%") return v;
      i++;
      const r = unary();
      if ((op === "/" || op === "%") && r === 0) fail("division by zero");
      v = op === "*" ? v * r : op === "/" ? v / r : v % r;
    }
  };
  const unary = (): number => {
    if (peek() === "-" || peek() === "+") {
      if (++depth > 200) fail("expression nested too deeply");
      const neg = toks[i++] === "-";
      const v = unary();
      depth--;
      return neg ? -v : v;
    }
    return power();
  };
  const power = (): number => {
    const base = atom();
    if (peek() === "^" || peek() === "**") {
      i++;
      return Math.pow(base, unary());
    }
    return base;
  };
  const atom = (): number => {
    const t = peek();
    if (t === undefined) fail("unexpected end of input");
    if (t === "(") {
      i++;
      const v = expr();
      expect(")");
      return v;
    }
    if (/^[\d.]/.test(t)) {
      i++;
      return Number(t);
    }
    if (/^[A-Za-z_]/.test(t)) {
      i++;
      const name = t.toLowerCase();
      if (peek() === "(") {
        const f = FUNCS[name];
        if (!f) fail(`unknown function '${t}'`);
        i++;
        const args = [expr()];
        while (peek() === ",") {
          i++;
          args.push(expr());
        }
        expect(")");
        return f(...args);
      }
      if (name in CONSTS) return CONSTS[name];
      fail(`unknown name '${t}'`);
    }
    return fail(`unexpected '${t}'`);
  };
  const v = expr();
  if (i < toks.length) fail(`unexpected '${toks[i]}'`);
  if (!Number.isFinite(v)) fail("result is not a finite number");
  return v;
}

export const calculatorTool: Tool = {
  definition: {
    type: "function",
    function: {
      name: "calculator",
      description:
        "Evaluate an arithmetic expression (+ - * / % ^, parentheses, sqrt, sin, cos, ln, log, exp, min, max, pi, e).",
      parameters: {
        type: "object",
        properties: { expression: { type: "string", description: "e.g. (2 + 3) * sqrt(16)" } },
        required: ["expression"],
        additionalProperties: false,
      },
    },
  },
  async run(args) {
    return String(evaluate(String(args.expression ?? "")));
  },
};
