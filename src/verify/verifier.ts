/**
 * The one Verifier type, used by reasoning (best-of-N, weighted votes, step search), the router
 * (escalate when a verifier rejects the local answer) and evals.
 *
 * A verifier scores a candidate in [0, 1] (1 = certainly right). It sees the question and the
 * candidate's text; `partial` marks an unfinished candidate (a prefix of reasoning steps), which
 * process verifiers score for step search and outcome-only verifiers may score as neutral 0.5.
 * `detail` says why, for logs and the eval report.
 */
export interface VerifyInput {
  question: string;
  /** The candidate's whole generated text (thinking + answer). */
  text: string;
  /** The extracted answer, when the caller has one. */
  answer?: string;
  partial?: boolean;
}

export interface Verdict {
  score: number;
  detail?: string;
  /**
   * false: the check does not apply to this question (an arithmetic check on a question without
   * arithmetic); the score is a weaker guess and a pass/fail reader counts it as no objection.
   */
  applicable?: boolean;
}

export interface Verifier {
  readonly name: string;
  /**
   * The score at and above which a finished candidate counts as verified (a search may stop there).
   * Default 1: rule checks score 1 when nothing is wrong; a learned verifier's probability rarely
   * reaches 1, so it states its own decision threshold.
   */
  readonly accept?: number;
  verify(input: VerifyInput): Verdict | Promise<Verdict>;
}

/** Clamp to [0, 1]; NaN becomes 0 (a verifier that cannot decide must say so with 0.5 itself). */
export function clampScore(x: number): number {
  return Number.isNaN(x) ? 0 : Math.min(1, Math.max(0, x));
}

/** Several verifiers as one: the mean (default) or the minimum (all must pass) of their scores. */
export function combineVerifiers(verifiers: Verifier[], how: "mean" | "min" = "mean"): Verifier {
  return {
    name: verifiers.map((v) => v.name).join(how === "min" ? "&" : "+"),
    async verify(input) {
      const vs = await Promise.all(verifiers.map((v) => v.verify(input)));
      const scores = vs.map((v) => clampScore(v.score));
      const score =
        scores.length === 0
          ? 0.5
          : how === "min"
            ? Math.min(...scores)
            : scores.reduce((a, b) => a + b, 0) / scores.length;
      return {
        score,
        detail: vs
          .map((v, i) => `${verifiers[i].name}=${scores[i].toFixed(2)}${v.detail ? ` (${v.detail})` : ""}`)
          .join("; "),
      };
    },
  };
}

/**
 * Pass/fail reading of a verdict: undefined when the check did not apply, else score >= threshold
 * (0.5: the 0/1 verifiers pass on 1, the arithmetic verifier exactly when the answer is right).
 */
export function accepts(v: Verdict, threshold = 0.5): boolean | undefined {
  return v.applicable === false ? undefined : v.score >= threshold;
}
