/**
 * Local-answer signals for escalation, independent of how they were produced (one greedy answer,
 * self-consistency samples, best-of-N with a verifier from src/reasoning): the router only sees a
 * `LocalOutcome`. Built here: mean token log-probability and a verifier's verdict as a pass/fail
 * signal. Agreement over samples is `agreement` in src/verify/vote.ts; the verifiers themselves
 * (the policy's and any caller's) are src/verify Verifiers.
 */
import { accepts, type Verdict } from "../verify/verifier.js";

/** A verifier's verdict as the router reads it. */
export interface VerifierResult {
  name: string;
  /** undefined = not applicable to this question (counts as no objection). */
  accepted: boolean | undefined;
  /** Optional 0..1 confidence from scoring verifiers. */
  score?: number;
  detail: string;
}

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

/** A verifier's verdict as a router signal: accepted = score >= threshold unless the check did not apply. */
export function verifierSignal(name: string, r: Verdict, threshold = 0.5): VerifierResult {
  return { name, accepted: accepts(r, threshold), score: r.score, detail: r.detail ?? "" };
}
