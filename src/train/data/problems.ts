/**
 * Arithmetic problems as chat turns: a question phrased in English or Chinese, and an answer made
 * of a <think> block (column steps, one per line) and a final answer line.
 *
 * Every problem has a canonical `key` that ignores language and phrasing (and operand order for
 * the commutative + and ×), so splits assigned by key keep a problem and all its rephrasings on
 * one side of the train/validation/test boundary.
 */
import type { Rng } from "../../sampling/rng.js";
import { columns, type FormatOptions, type Op } from "./columns.js";
import { WORDS, type Lang } from "./lang.js";

export type Kind = "add" | "sub" | "mul" | "word" | "chat" | "tool" | "json";

export interface Problem {
  key: string;
  kind: Kind;
  lang: Lang;
  user: string;
  assistant: string;
  /** Final answer as written on the answer line (arithmetic kinds only). */
  answer?: string;
  /** Digits of the longest operand (arithmetic kinds only), for per-digit evaluation. */
  digits?: number;
  /** the whole conversation when it is more than one user turn and one assistant turn (v2 tool
   *  and JSON examples: system prompt, tool call, tool response, answer) */
  messages?: import("./format.js").Message[];
}

const QUESTIONS: Record<Op, Record<Lang, readonly string[]>> = {
  "+": {
    en: [
      "What is {a} + {b}?",
      "Calculate {a} + {b}.",
      "{a} + {b} = ?",
      "What is {a} plus {b}?",
      "Add {a} and {b}.",
      "Please compute {a} + {b}.",
    ],
    zh: ["{a} + {b} 等于多少？", "计算 {a} + {b}。", "{a} 加 {b} 是多少？", "请算一下 {a} + {b}。"],
  },
  "-": {
    en: [
      "What is {a} - {b}?",
      "Calculate {a} - {b}.",
      "{a} - {b} = ?",
      "What is {a} minus {b}?",
      "Subtract {b} from {a}.",
    ],
    zh: ["{a} - {b} 等于多少？", "计算 {a} - {b}。", "{a} 减 {b} 是多少？", "请算一下 {a} - {b}。"],
  },
  "×": {
    en: [
      "What is {a} × {b}?",
      "What is {a} * {b}?",
      "Calculate {a} x {b}.",
      "What is {a} times {b}?",
      "Multiply {a} by {b}.",
    ],
    zh: ["{a} × {b} 等于多少？", "计算 {a} * {b}。", "{a} 乘以 {b} 是多少？", "请算一下 {a} × {b}。"],
  },
};

export const KIND_OF: Record<Op, Kind> = { "+": "add", "-": "sub", "×": "mul" };

/** A number with a uniformly chosen digit count in [1, maxDigits], then uniform within that count. */
export function randomOperand(rng: Rng, maxDigits: number): number {
  const nd = rng.int(1, maxDigits);
  return nd === 1 ? rng.int(0, 9) : rng.int(10 ** (nd - 1), 10 ** nd - 1);
}

export function problemKey(op: Op, a: number, b: number): string {
  if (op !== "-" && b < a) [a, b] = [b, a];
  return `${KIND_OF[op]}:${a}:${b}`;
}

export function fill(t: string, v: Record<string, string | number>): string {
  return t.replace(/\{(\w+)\}/g, (_, k: string) => String(v[k]));
}

export function thinkAnswer(lines: readonly string[], answer: string, lang: Lang): string {
  return `<think>\n${lines.join("\n")}\n</think>\n${WORDS[lang].answer(answer)}`;
}

export function arithmeticProblem(
  rng: Rng,
  op: Op,
  a: number,
  b: number,
  lang: Lang,
  fmt: FormatOptions = {},
): Problem {
  const user = fill(rng.pick(QUESTIONS[op][lang]), { a, b });
  const w = columns(op, a, b, lang, fmt);
  const answer = String(w.result);
  return {
    key: problemKey(op, a, b),
    kind: KIND_OF[op],
    lang,
    user,
    assistant: thinkAnswer(w.lines, answer, lang),
    answer,
    digits: Math.max(String(a).length, String(b).length),
  };
}
