/**
 * A small exact arithmetic evaluator for verifiers: integers and decimals, + - * × x ÷ /, unary
 * minus, parentheses; precedence as usual. Recursive descent over a token list; anything else
 * is a parse failure (undefined), never an eval of the text.
 */
type Tok = { kind: "num"; v: number } | { kind: "op"; v: string };

function lex(s: string): Tok[] | undefined {
  const out: Tok[] = [];
  const re = /\s*(?:(\d+(?:\.\d+)?|\.\d+)|([-+*/()×x÷−]))/y;
  let i = 0;
  s = s.replace(/,(?=\d{3}\b)/g, "");
  while (i < s.length) {
    if (/^\s*$/.test(s.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    i = re.lastIndex;
    if (m[1] !== undefined) out.push({ kind: "num", v: Number(m[1]) });
    else
      out.push({
        kind: "op",
        v: m[2] === "×" || m[2] === "x" ? "*" : m[2] === "÷" ? "/" : m[2] === "−" ? "-" : m[2],
      });
  }
  return out;
}

/** Value of an arithmetic expression, or undefined when it is not one. */
export function evaluate(expr: string): number | undefined {
  const toks = lex(expr);
  if (!toks || toks.length === 0) return undefined;
  let p = 0;
  const peek = () => toks[p];
  const isOp = (v: string) => peek()?.kind === "op" && peek()!.v === v;
  function primary(): number | undefined {
    const t = toks![p];
    if (!t) return undefined;
    if (t.kind === "num") {
      p++;
      return t.v;
    }
    if (t.v === "-" || t.v === "+") {
      p++;
      const x = primary();
      return x === undefined ? undefined : t.v === "-" ? -x : x;
    }
    if (t.v === "(") {
      p++;
      const x = sum();
      if (!isOp(")")) return undefined;
      p++;
      return x;
    }
    return undefined;
  }
  function product(): number | undefined {
    let x = primary();
    while (x !== undefined && (isOp("*") || isOp("/"))) {
      const op = toks![p++].v;
      const y = primary();
      if (y === undefined) return undefined;
      x = op === "*" ? x * y : x / y;
    }
    return x;
  }
  function sum(): number | undefined {
    let x = product();
    while (x !== undefined && (isOp("+") || isOp("-"))) {
      const op = toks![p++].v;
      const y = product();
      if (y === undefined) return undefined;
      x = op === "+" ? x + y : x - y;
    }
    return x;
  }
  const v = sum();
  return v !== undefined && p === toks.length && Number.isFinite(v) ? v : undefined;
}

/** Equal up to float rounding of decimals. */
export function sameNumber(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}
