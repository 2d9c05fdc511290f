/**
 * A small exact evaluator for the arithmetic verifier: finds an expression of numbers, + - * /
 * and parentheses (also "x" and "×" "÷" for times/divide) in a question, evaluates it by
 * recursive descent (no eval), and reads the last number of an answer. The local model is an
 * arithmetic + chitchat model, so this is the verifier that knows when it got a sum wrong.
 */

const NUM = "(-?\\d+(?:\\.\\d+)?)";

/**
 * Operator words -> symbols, for the phrasings arithmetic questions come in (the default model's
 * training questions among them): "12 plus 7", "Add 12 and 7", "Subtract 7 from 12",
 * "Multiply 12 by 7", "12 divided by 4", and Chinese 加 / 减 / 乘以 / 除以.
 */
export function symbolize(text: string): string {
  return text
    .replace(new RegExp(`\\badd ${NUM} and ${NUM}`, "gi"), "$1 + $2")
    .replace(new RegExp(`\\bsubtract ${NUM} from ${NUM}`, "gi"), "$2 - $1")
    .replace(new RegExp(`\\bmultiply ${NUM} by ${NUM}`, "gi"), "$1 * $2")
    .replace(new RegExp(`\\bdivide ${NUM} by ${NUM}`, "gi"), "$1 / $2")
    .replace(/\s*\bplus\b\s*/gi, " + ")
    .replace(/\s*\bminus\b\s*/gi, " - ")
    .replace(/\s*\b(times|multiplied by)\b\s*/gi, " * ")
    .replace(/\s*\bdivided by\b\s*/gi, " / ")
    .replace(/\s*乘以\s*/g, " * ")
    .replace(/\s*除以\s*/g, " / ")
    .replace(/\s*加\s*/g, " + ")
    .replace(/\s*减\s*/g, " - ");
}

/** The longest run in `text` that looks like an expression with at least one operator, or undefined. */
export function findExpression(text: string): string | undefined {
  const runs = symbolize(text).match(/[-+*/×÷x()\d.\s]+/g) ?? [];
  let best: string | undefined;
  for (const raw of runs) {
    const s = raw.trim().replace(/[=?.\s]+$/, "");
    if (!/\d/.test(s) || !/\d\s*[-+*/×÷x]\s*[-(\d]/.test(s)) continue;
    if (best === undefined || s.length > best.length) best = s;
  }
  return best;
}

/** Value of an expression, or undefined if it does not parse or divides by zero. */
export function evaluate(expr: string): number | undefined {
  const src = expr.replace(/×|x/g, "*").replace(/÷/g, "/");
  let i = 0;
  const peek = () => {
    while (src[i] === " " || src[i] === "\t" || src[i] === "\n") i++;
    return src[i];
  };
  const num = (): number | undefined => {
    const c = peek();
    if (c === "(") {
      i++;
      const v = sum();
      if (peek() !== ")") return undefined;
      i++;
      return v;
    }
    if (c === "-") {
      i++;
      const v = num();
      return v === undefined ? undefined : -v;
    }
    const m = /^\d+(\.\d+)?/.exec(src.slice(i));
    if (!m) return undefined;
    i += m[0].length;
    return Number(m[0]);
  };
  const product = (): number | undefined => {
    let v = num();
    while (v !== undefined && (peek() === "*" || peek() === "/")) {
      const op = src[i++];
      const w = num();
      if (w === undefined || (op === "/" && w === 0)) return undefined;
      v = op === "*" ? v * w : v / w;
    }
    return v;
  };
  const sum = (): number | undefined => {
    let v = product();
    while (v !== undefined && (peek() === "+" || peek() === "-")) {
      const op = src[i++];
      const w = product();
      if (w === undefined) return undefined;
      v = op === "+" ? v + w : v - w;
    }
    return v;
  };
  const v = sum();
  return v !== undefined && peek() === undefined && Number.isFinite(v) ? v : undefined;
}

/** Last number written in a text ("... is 42." -> 42; "1,234" -> 1234), or undefined. */
export function lastNumber(text: string): number | undefined {
  const all = text.match(/-?\d[\d,]*(\.\d+)?/g);
  if (!all) return undefined;
  return Number(all[all.length - 1].replace(/,/g, ""));
}
