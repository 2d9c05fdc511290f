/**
 * Arithmetic re-check verifier. Two parts:
 *   outcome  the question's expression is parsed (symbols "12 + 7 * 3", words "Subtract b from
 *            a", "a 乘以 b", ...) and evaluated exactly; the candidate's answer must equal it;
 *   process  every "expr = n" step in the reasoning is re-evaluated ("2 - 4 - 0 = -2, +10 = 8"
 *            chains the second step from the first); the share of correct steps.
 * Final score: 0.7 * outcome + 0.3 * process when the question parses (so score >= 0.5 exactly
 * when the answer is right); otherwise (word problems, chitchat) 0.5 * process + 0.5 * (answer
 * equals the last step's result), with `applicable: false` (the router counts that as no
 * objection). Partial candidates (step search) get the process score alone, so it works as a
 * process verifier too.
 */
import { autoExtract } from "./extract.js";
import { evaluate, sameNumber } from "./expression.js";
import { findExpression } from "./question.js";
import type { Verdict, Verifier, VerifyInput } from "./verifier.js";

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
    const expr = findExpression(input.question);
    const expected = expr === undefined ? undefined : evaluate(expr);
    if (expected !== undefined) {
      const outcome = Number.isFinite(a) && sameNumber(a, expected) ? 1 : 0;
      return {
        score: 0.7 * outcome + 0.3 * process,
        detail: `${expr} = ${expected}; answer says ${answer ?? "no number"}; ${stepDetail}`,
      };
    }
    const consistent = steps.last !== undefined && Number.isFinite(a) && sameNumber(a, steps.last) ? 1 : 0;
    return {
      score: 0.5 * process + 0.5 * consistent,
      applicable: false,
      detail: `no arithmetic expression in the question; answer ${consistent ? "matches" : "does not match"} the last step; ${stepDetail}`,
    };
  }
}
