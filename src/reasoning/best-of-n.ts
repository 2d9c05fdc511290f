/**
 * Best-of-N: decode N samples together, score each with a verifier, then select either
 *   "best"      the highest-scoring candidate (ties: the earliest sample), or
 *   "weighted"  verifier-weighted voting: each sample votes for its extracted answer with its
 *               score as the weight (Li et al., 2023 "Making LLMs better reasoners with
 *               step-aware verifier"; Uesato et al., 2022), so agreement and scores both count.
 * Candidates are scored as they finish, overlapping verification with the decoding of the rest.
 */
import { InputError } from "../errors.js";
import { makeExtractor, type Extractor, type ExtractorName } from "../verify/extract.js";
import { collect, type Candidate, type Generator, type SampleOptions } from "./generator.js";
import { clampScore, type Verifier } from "../verify/verifier.js";
import { vote, type VoteResult } from "../verify/vote.js";

export type Selection = "best" | "weighted";

export interface BestOfNOptions extends Omit<SampleOptions, "n"> {
  samples: number;
  /** The question, as the verifier sees it. */
  question: string;
  verifier: Verifier;
  selection?: Selection;
  extractor?: ExtractorName | { regex: string | RegExp } | Extractor;
}

export interface BestOfNResult {
  answer: string | undefined;
  /** The chosen candidate (for "weighted": the best-scoring one among the winning answer's). */
  best: Candidate | undefined;
  /** All candidates with answer, score and the verifier's detail. */
  candidates: (Candidate & { detail?: string })[];
  selection: Selection;
  /** The weighted vote (also filled for "best", for reporting). */
  vote: VoteResult;
  tokens: number;
}

export async function bestOfN(gen: Generator, opts: BestOfNOptions): Promise<BestOfNResult> {
  const n = opts.samples;
  if (!Number.isInteger(n) || n < 1)
    throw new InputError(`samples must be a positive integer, got ${n}`, { field: "samples" });
  const selection = opts.selection ?? "best";
  if (selection !== "best" && selection !== "weighted")
    throw new InputError(`selection must be 'best' or 'weighted', got '${selection}'`, {
      field: "selection",
    });
  const extract = makeExtractor(opts.extractor);
  const { samples: _s, question, verifier, selection: _sel, extractor: _e, ...sampling } = opts;
  const pending: Promise<void>[] = [];
  const cands = await collect(gen, { ...sampling, n }, (c) => {
    c.answer = extract(c.text);
    const sc = c as Candidate & { detail?: string };
    pending.push(
      Promise.resolve(verifier.verify({ question, text: c.text, answer: c.answer })).then((v) => {
        sc.score = clampScore(v.score);
        sc.detail = v.detail;
      }),
    );
  });
  await Promise.all(pending);
  const valid = cands.filter((c) => c.finishReason !== "abort");
  const tokens = cands.reduce((a, c) => a + c.completionTokens, 0);
  const v = vote(
    valid.map((c) => c.answer),
    valid.map((c) => c.score ?? 0),
  );
  let best: Candidate | undefined;
  const better = (c: Candidate) => !best || (c.score ?? 0) > (best.score ?? 0);
  if (selection === "best") {
    for (const c of valid) if (better(c)) best = c;
  } else {
    for (const c of valid) if (c.answer === v.answer && better(c)) best = c;
  }
  return {
    answer: selection === "best" ? best?.answer : v.answer,
    best,
    candidates: cands as BestOfNResult["candidates"],
    selection,
    vote: v,
    tokens,
  };
}
