/**
 * Vote counting for self-consistency and the adaptive stopping rule.
 *
 * A VoteTracker receives finished samples one at a time (their extracted answer, or undefined
 * when the sample holds none, and a weight: 1 for plain majority, a verifier score for weighted
 * voting). After each one it can say whether sampling may stop early:
 *   - "decided": the leader cannot be overtaken even if every sample still to come voted for
 *     the runner-up (leader > runnerUp + remaining; a possible tie is not decided);
 *   - "agreement": at least `minSamples` votes are in and the leader holds >= `agreement` of them.
 * Ties between answers are broken by first arrival, so the result is deterministic.
 */
import { InputError } from "../errors.js";
import { lastNumber } from "./extract.js";

export interface AnswerCount {
  answer: string;
  /** Sum of weights (= number of votes for unweighted voting). */
  votes: number;
  /** Samples that gave this answer (indices in arrival order). */
  samples: number[];
}

export interface VoteResult {
  /** The winning answer; undefined when no sample gave one. */
  answer: string | undefined;
  /** Answers by votes, highest first (ties: first seen first). */
  counts: AnswerCount[];
  /** Leader's votes / all votes cast (0 when none). */
  agreement: number;
  /** Samples counted, and those that gave no answer. */
  samples: number;
  abstained: number;
}

export interface StopRule {
  /** Stop when the leader cannot be overtaken by the samples still to come. Default true. */
  decided?: boolean;
  /** Stop when the leader's share reaches this (0..1]; off when undefined. */
  agreement?: number;
  /** Least votes before the agreement rule may fire. Default 3. */
  minSamples?: number;
}

export type StopReason = "decided" | "agreement";

export function validateStopRule(r: StopRule): void {
  if (
    r.agreement !== undefined &&
    !(typeof r.agreement === "number" && r.agreement > 0 && r.agreement <= 1)
  ) {
    throw new InputError(`agreement threshold must be in (0, 1], got ${r.agreement}`, { field: "agreement" });
  }
  if (r.minSamples !== undefined && !(Number.isInteger(r.minSamples) && r.minSamples >= 1)) {
    throw new InputError(`minSamples must be a positive integer, got ${r.minSamples}`, {
      field: "min_samples",
    });
  }
}

export class VoteTracker {
  private readonly byAnswer = new Map<string, AnswerCount>();
  private n = 0;
  private abstained = 0;
  private total = 0;

  /** Count one finished sample. Weight must be finite and >= 0. */
  add(answer: string | undefined, weight = 1): void {
    if (!Number.isFinite(weight) || weight < 0)
      throw new InputError(`vote weight must be a finite number >= 0, got ${weight}`);
    const idx = this.n++;
    if (answer === undefined) {
      this.abstained++;
      return;
    }
    let c = this.byAnswer.get(answer);
    if (!c) this.byAnswer.set(answer, (c = { answer, votes: 0, samples: [] }));
    c.votes += weight;
    c.samples.push(idx);
    this.total += weight;
  }

  get samples(): number {
    return this.n;
  }

  result(): VoteResult {
    // Map iteration is insertion order and sort is stable: equal votes keep first-seen order.
    const counts = [...this.byAnswer.values()]
      .map((c) => ({ ...c, samples: c.samples.slice() }))
      .sort((a, b) => b.votes - a.votes);
    const lead = counts[0];
    return {
      answer: lead?.answer,
      counts,
      agreement: lead && this.total > 0 ? lead.votes / this.total : 0,
      samples: this.n,
      abstained: this.abstained,
    };
  }

  /**
   * May sampling stop now? `remaining` samples could still arrive, each worth at most
   * `maxWeight` votes (1 for plain voting; a verifier's score is at most 1).
   */
  shouldStop(remaining: number, rule: StopRule = {}, maxWeight = 1): StopReason | undefined {
    const counts = this.result().counts;
    if (counts.length === 0) return undefined;
    const lead = counts[0].votes;
    const second = counts[1]?.votes ?? 0;
    if ((rule.decided ?? true) && lead > second + remaining * maxWeight) return "decided";
    const votesIn = this.n - this.abstained;
    if (
      rule.agreement !== undefined &&
      votesIn >= (rule.minSamples ?? 3) &&
      this.total > 0 &&
      lead / this.total >= rule.agreement
    )
      return "agreement";
    return undefined;
  }
}

/** Majority (or weighted) vote over a finished list. */
export function vote(answers: (string | undefined)[], weights?: number[]): VoteResult {
  if (weights && weights.length !== answers.length)
    throw new InputError(`${answers.length} answers but ${weights.length} weights`);
  const t = new VoteTracker();
  answers.forEach((a, i) => t.add(a, weights ? weights[i] : 1));
  return t.result();
}

/** The comparable part of a free-form answer: its last number if it has one, else the normalized text. */
export function answerKey(text: string): string {
  const n = lastNumber(text);
  if (n !== undefined) return `#${n}`;
  return text
    .trim()
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/[.!]+$/, "");
}

/** Majority share among free-form answers (keyed by answerKey) and the index of the first majority sample. */
export function agreement(answers: readonly string[]): { share: number; index: number } {
  const r = vote(answers.map(answerKey));
  return r.answer === undefined
    ? { share: 0, index: -1 }
    : { share: r.agreement, index: r.counts[0].samples[0] };
}
