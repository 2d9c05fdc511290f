/**
 * Local-answer signals for escalation, independent of how they were produced (one greedy answer,
 * self-consistency samples, best-of-N with a verifier from src/reasoning): the router only sees a
 * `LocalOutcome`. Built here: mean token log-probability, majority agreement over samples, and
 * the declarative verifiers of the policy (arithmetic, regex, nonempty).
 */
import { evaluate, findExpression, lastNumber } from "./arithmetic.js";
import type { VerifierSpec } from "./policy.js";

export interface VerifierResult {
  name: string;
  /** undefined = not applicable to this question (counts as no objection). */
  accepted: boolean | undefined;
  /** Optional 0..1 confidence from scoring verifiers. */
  score?: number;
  detail: string;
}

/** Any verifier: the question (last user message) and the answer text. */
export type Verifier = (question: string, answer: string) => VerifierResult | Promise<VerifierResult>;

/** What the local model produced, plus whichever signals were measured. */
export interface LocalOutcome {
  text: string;
  /** Mean log-probability of the answer's tokens (natural log). */
  meanLogprob?: number;
  /** Share of samples agreeing with the majority answer, 0..1. */
  agreement?: number;
  /** How many samples the agreement was measured over. */
  agreementSamples?: number;
  /** Verdicts of the verifiers that ran. */
  verifiers?: VerifierResult[];
  /** A scoring verifier's 0..1 score (e.g. a reward model in src/reasoning). */
  verifierScore?: number;
}

export function meanLogprob(logprobs: readonly number[]): number | undefined {
  if (logprobs.length === 0) return undefined;
  let s = 0;
  for (const x of logprobs) s += x;
  return s / logprobs.length;
}

/** The comparable part of an answer: its last number if it has one, else the normalized text. */
export function answerKey(text: string): string {
  const n = lastNumber(text);
  if (n !== undefined) return `#${n}`;
  return text
    .trim()
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/[.!]+$/, "");
}

/** Majority share among samples and the index of a representative majority sample. */
export function agreement(answers: readonly string[]): { share: number; index: number } {
  if (answers.length === 0) return { share: 0, index: -1 };
  const counts = new Map<string, { n: number; first: number }>();
  answers.forEach((a, i) => {
    const k = answerKey(a);
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { n: 1, first: i });
  });
  let best = { n: 0, first: -1 };
  for (const c of counts.values()) if (c.n > best.n) best = c;
  return { share: best.n / answers.length, index: best.first };
}

/** A policy verifier spec -> a Verifier. */
export function buildVerifier(spec: VerifierSpec): Verifier {
  switch (spec.type) {
    case "nonempty":
      return (_q, a) => ({
        name: "nonempty",
        accepted: a.trim().length > 0,
        detail: a.trim().length > 0 ? "answer present" : "empty answer",
      });
    case "regex": {
      const re = new RegExp(spec.pattern, spec.flags);
      return (_q, a) => {
        const ok = re.test(a);
        return {
          name: "regex",
          accepted: ok,
          detail: `${ok ? "matches" : "does not match"} /${spec.pattern}/${spec.flags}`,
        };
      };
    }
    case "refusal": {
      const re = new RegExp(spec.pattern, spec.flags);
      return (_q, a) => {
        const m = re.exec(a);
        return {
          name: "refusal",
          accepted: m === null,
          detail: m ? `the local model declined ("${m[0]}")` : "no refusal",
        };
      };
    }
    case "arithmetic":
      return (q, a) => {
        const expr = findExpression(q);
        const want = expr === undefined ? undefined : evaluate(expr);
        if (expr === undefined || want === undefined)
          return {
            name: "arithmetic",
            accepted: undefined,
            detail: "no arithmetic expression in the question",
          };
        const got = lastNumber(a);
        const ok = got !== undefined && Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want));
        return {
          name: "arithmetic",
          accepted: ok,
          detail: `${expr} = ${want}; answer says ${got ?? "no number"}`,
        };
      };
  }
}

/**
 * A scoring verifier in the shape src/reasoning uses ({ name, verify({question, text}) -> {score
 * in 0..1, detail} }) as a router Verifier: accepted when score >= `threshold`, score kept.
 * Structural, so the router does not depend on the reasoning module.
 */
export interface ScoringVerifier {
  readonly name: string;
  verify(input: {
    question: string;
    text: string;
  }): { score: number; detail?: string } | Promise<{ score: number; detail?: string }>;
}

export function fromScoringVerifier(v: ScoringVerifier, threshold = 0.5): Verifier {
  return async (question, answer) => {
    const r = await v.verify({ question, text: answer });
    return {
      name: v.name,
      accepted: r.score >= threshold,
      score: r.score,
      detail: `score ${r.score.toFixed(2)}${r.detail ? `: ${r.detail}` : ""}`,
    };
  };
}
