/**
 * The arithmetic a question asks for. Operator words become symbols first (the phrasings of the
 * default model's training questions among them: "12 plus 7", "Add 12 and 7", "Subtract 7 from
 * 12", "Multiply 12 by 7", "12 divided by 4", Chinese 加 / 减 / 乘以 / 除以), then the longest run of
 * numbers, operators and parentheses that holds a binary operation and evaluates is the question's
 * expression. Used by the arithmetic verifier (reasoning, router) and the eval tasks.
 */
import { evaluate } from "./expression.js";

const NUM = String.raw`(-?\d+(?:\.\d+)?)`;

// Whole-clause forms first (they reorder operands), then the single operator words.
const WORDS: [RegExp, string][] = [
  [new RegExp(String.raw`\badd\s+${NUM}\s+(?:and|to)\s+${NUM}`, "gi"), "$1 + $2"],
  [new RegExp(String.raw`\bsubtract\s+${NUM}\s+from\s+${NUM}`, "gi"), "$2 - $1"],
  [new RegExp(String.raw`\bmultiply\s+${NUM}\s+(?:by|and)\s+${NUM}`, "gi"), "$1 * $2"],
  [new RegExp(String.raw`\bdivide\s+${NUM}\s+by\s+${NUM}`, "gi"), "$1 / $2"],
  [/\s*\bplus\b\s*/gi, " + "],
  [/\s*\bminus\b\s*/gi, " - "],
  [/\s*\b(?:times|multiplied\s+by)\b\s*/gi, " * "],
  [/\s*\bdivided\s+by\b\s*/gi, " / "],
  // Chinese operators only between numbers ("参加" and "乘客" are not arithmetic).
  [/(?<=\d)\s*乘以?\s*(?=-?\d)/g, " * "],
  [/(?<=\d)\s*除以\s*(?=-?\d)/g, " / "],
  [/(?<=\d)\s*加上?\s*(?=-?\d)/g, " + "],
  [/(?<=\d)\s*减去?\s*(?=-?\d)/g, " - "],
];

/** Operator words -> symbols ("Subtract 7 from 12" -> "12 - 7", "6 乘以 7" -> "6 * 7"). */
export function symbolize(text: string): string {
  let s = text;
  for (const [re, to] of WORDS) s = s.replace(re, to);
  return s;
}

// A run that starts on a sign, parenthesis or digit and ends on a digit or parenthesis.
const RUN = /(?:[(\-−+]\s*)*\d[\d\s.,()+\-−*/×x÷]*[\d)]/g;
const BINARY_OP = /\d\s*\)*\s*[+\-−*/×x÷]\s*\(*\s*[-−]?\d/;

/** Drop close parentheses that open nowhere ("2 + 3)" -> "2 + 3"). */
function balance(s: string): string {
  let depth = 0;
  let end = s.length;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "(") depth++;
    else if (s[i] === ")" && --depth < 0) {
      end = i;
      break;
    }
  }
  return s.slice(0, end).trim();
}

/**
 * The question's expression with its operators as symbols: the longest run with a binary
 * operation that evaluates ("What is 12 plus 7 * 3?" -> "12 + 7 * 3"), or undefined.
 */
export function findExpression(question: string): string | undefined {
  let best: string | undefined;
  for (const m of symbolize(question).matchAll(RUN)) {
    const s = balance(m[0].trim());
    if (!BINARY_OP.test(s) || evaluate(s) === undefined) continue;
    if (best === undefined || s.length > best.length) best = s;
  }
  return best;
}

/** The question's arithmetic value, or undefined when it holds no expression we can read. */
export function questionValue(question: string): number | undefined {
  const e = findExpression(question);
  return e === undefined ? undefined : evaluate(e);
}
