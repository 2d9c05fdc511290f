/**
 * Arithmetic re-check verifier. Two parts:
 *   outcome  the question's expression is parsed (symbols "12 + 7 * 3", words "Subtract b from
 *            a", "a 乘以 b", ...) and evaluated exactly; the candidate's answer must equal it;
 *   process  every "expr = n" step in the reasoning is re-evaluated ("2 - 4 - 0 = -2, +10 = 8"
 *            chains the second step from the first); the share of correct steps.
 * Final score: 0.7 * outcome + 0.3 * process when the question parses; otherwise (word problems)
 * 0.5 * process + 0.5 * (answer equals the last step's result). Partial candidates (step search)
 * get the process score alone, so it works as a process verifier too.
 */
import { autoExtract } from "../extract.js";
import { evaluate, sameNumber } from "./expression.js";
import type { Verdict, Verifier, VerifyInput } from "./verifier.js";

const N = String.raw`(-?\d+(?:\.\d+)?)`;
// Word phrasings: [pattern, (a, b) => expression]. Checked before the symbolic scan.
const WORD_FORMS: [RegExp, (a: string, b: string) => string][] = [
  [new RegExp(String.raw`subtract\s+${N}\s+from\s+${N}`, "i"), (b, a) => `${a} - (${b})`],
  [new RegExp(String.raw`add\s+${N}\s+(?:and|to)\s+${N}`, "i"), (a, b) => `${a} + (${b})`],
  [new RegExp(String.raw`multiply\s+${N}\s+(?:by|and)\s+${N}`, "i"), (a, b) => `${a} * (${b})`],
  [new RegExp(String.raw`divide\s+${N}\s+by\s+${N}`, "i"), (a, b) => `${a} / (${b})`],
  [new RegExp(String.raw`${N}\s+plus\s+${N}`, "i"), (a, b) => `${a} + (${b})`],
  [new RegExp(String.raw`${N}\s+minus\s+${N}`, "i"), (a, b) => `${a} - (${b})`],
  [new RegExp(String.raw`${N}\s+(?:times|multiplied\s+by)\s+${N}`, "i"), (a, b) => `${a} * (${b})`],
  [new RegExp(String.raw`${N}\s+divided\s+by\s+${N}`, "i"), (a, b) => `${a} / (${b})`],
  [new RegExp(String.raw`${N}\s*加上?\s*${N}`), (a, b) => `${a} + (${b})`],
  [new RegExp(String.raw`${N}\s*减去?\s*${N}`), (a, b) => `${a} - (${b})`],
  [new RegExp(String.raw`${N}\s*乘以?\s*${N}`), (a, b) => `${a} * (${b})`],
  [new RegExp(String.raw`${N}\s*除以\s*${N}`), (a, b) => `${a} / (${b})`],
];

// A run of digits, operators, parentheses and spaces that starts and ends on an operand.
const EXPR = /[(\-−]?\s*\d[\d\s.,()+\-−*/×x÷]*[\d)]/g;
const HAS_BINARY_OP = /\d\s*[)]*\s*[+\-−*/×x÷]\s*[(]*\s*-?\d/;

/** The question's arithmetic value, or undefined when it holds no expression we can read. */
export function questionValue(question: string): number | undefined {
  for (const [re, build] of WORD_FORMS) {
    const m = re.exec(question);
    if (m) return evaluate(build(m[1], m[2]));
  }
  let best: { len: number; v: number } | undefined;
  for (const m of question.matchAll(EXPR)) {
    const s = m[0].trim();
    if (!HAS_BINARY_OP.test(s)) continue;
    const v = evaluate(s);
    if (v !== undefined && (!best || s.length > best.len)) best = { len: s.length, v };
  }
  return best?.v;
}

const STEP = /([(+\-−]?[\d\s.()+\-−*/×x÷]*\d\)?)\s*=\s*([-−]?\d+(?:\.\d+)?)(?![\d.])/g;

export interface StepCheck {
  total: number;
  correct: number;
  /** Result of the last step seen (the chain's conclusion). */
  last: number | undefined;
  /** First wrong step, for the detail line. */
  firstWrong?: string;
}

/** Re-evaluate every "expr = n" step of the text. */
export function checkSteps(text: string): StepCheck {
  const r: StepCheck = { total: 0, correct: 0, last: undefined };
  for (const line of text.split(/\r?\n/)) {
    let prev: number | undefined;
    for (const m of line.matchAll(STEP)) {
      const lhs = m[1].trim();
      const rhs = Number(m[2].replace("−", "-"));
      if (
        !/[+\-−*/×x÷]/.test(lhs.replace(/^[+\-−]/, "")) &&
        !(prev !== undefined && /^[+\-−*/×x÷]/.test(lhs))
      )
        continue; // "x = 5": no operation
      const direct = evaluate(lhs);
      // ", +10 = 8" continues from the previous result on the line.
      const chained =
        prev !== undefined && /^[+\-−*/×x÷]/.test(lhs) ? evaluate(`(${prev}) ${lhs}`) : undefined;
      const ok =
        (direct !== undefined && sameNumber(direct, rhs)) ||
        (chained !== undefined && sameNumber(chained, rhs));
      r.total++;
      if (ok) r.correct++;
      else r.firstWrong ??= `${lhs} = ${m[2]}`;
      prev = rhs;
      r.last = rhs;
    }
  }
  return r;
}

export class ArithmeticVerifier implements Verifier {
  readonly name = "arithmetic";

  verify(input: VerifyInput): Verdict {
    const steps = checkSteps(input.text);
    const process = steps.total > 0 ? steps.correct / steps.total : 0.5;
    const stepDetail = `${steps.correct}/${steps.total} steps${steps.firstWrong ? `, wrong: ${steps.firstWrong}` : ""}`;
    if (input.partial) return { score: process, detail: stepDetail };
    const answer = input.answer ?? autoExtract(input.text);
    const a = answer === undefined ? NaN : Number(answer);
    const expected = questionValue(input.question);
    if (expected !== undefined) {
      const outcome = Number.isFinite(a) && sameNumber(a, expected) ? 1 : 0;
      return {
        score: 0.7 * outcome + 0.3 * process,
        detail: `answer ${answer ?? "none"} ${outcome ? "=" : "!="} ${expected}; ${stepDetail}`,
      };
    }
    const consistent = steps.last !== undefined && Number.isFinite(a) && sameNumber(a, steps.last) ? 1 : 0;
    return {
      score: 0.5 * process + 0.5 * consistent,
      detail: `question not parsed; answer ${consistent ? "matches" : "does not match"} the last step; ${stepDetail}`,
    };
  }
}
