/**
 * Self-consistency (Wang et al., 2022): decode k samples, extract each one's answer, take the
 * majority. With adaptive stopping (in the spirit of Aggarwal et al., 2023 "Let me sample once
 * more"), samples are counted as they finish and the rest are aborted as soon as the stop rule
 * fires; the result reports how many samples that saved and the tokens actually spent.
 */
import { InputError } from "../errors.js";
import { makeExtractor, type Extractor, type ExtractorName } from "../verify/extract.js";
import { childAbort, type Candidate, type Generator, type SampleOptions } from "./generator.js";
import {
  validateStopRule,
  VoteTracker,
  type StopReason,
  type StopRule,
  type VoteResult,
} from "../verify/vote.js";

export interface SelfConsistencyOptions extends Omit<SampleOptions, "n"> {
  /** k: most samples. */
  samples: number;
  extractor?: ExtractorName | { regex: string | RegExp } | Extractor;
  /** Adaptive stopping rule; false = always decode all k. Default { decided: true }. */
  earlyStop?: StopRule | false;
  /** Called for each counted sample (finished before the stop). */
  onSample?: (c: Candidate) => void;
}

export interface SelfConsistencyResult extends VoteResult {
  /** Counted samples, in finishing order, with their answers. */
  candidates: Candidate[];
  samplesRequested: number;
  /** Samples not counted because sampling stopped early (aborted or never started). */
  samplesSaved: number;
  stopReason: StopReason | undefined;
  /** Completion tokens decoded, including those of samples cut by the stop. */
  tokens: number;
}

export async function selfConsistency(
  gen: Generator,
  opts: SelfConsistencyOptions,
): Promise<SelfConsistencyResult> {
  const k = opts.samples;
  if (!Number.isInteger(k) || k < 1)
    throw new InputError(`samples must be a positive integer, got ${k}`, { field: "samples" });
  const extract = makeExtractor(opts.extractor);
  const rule = opts.earlyStop === false ? undefined : (opts.earlyStop ?? {});
  if (rule) validateStopRule(rule);
  const ctl = childAbort(opts.signal);
  const tracker = new VoteTracker();
  const texts: string[] = Array.from({ length: k }, () => "");
  const candidates: Candidate[] = [];
  let tokens = 0;
  let stopReason: StopReason | undefined;
  const { samples: _s, extractor: _e, earlyStop: _r, onSample: _o, ...sampling } = opts;
  for await (const ev of gen({ ...sampling, n: k, signal: ctl.signal })) {
    if (ev.index < 0 || ev.index >= k)
      throw new InputError(`generator produced sample index ${ev.index} outside 0..${k - 1}`);
    texts[ev.index] += ev.text;
    if (ev.type !== "done") continue;
    tokens += ev.completionTokens;
    // Samples cut by our own stop (or the caller's abort) do not vote.
    if (stopReason || ev.reason === "abort") continue;
    const c: Candidate = {
      index: ev.index,
      text: texts[ev.index],
      finishReason: ev.reason,
      completionTokens: ev.completionTokens,
      reasoningTokens: ev.reasoningTokens,
      answer: extract(texts[ev.index]),
    };
    candidates.push(c);
    tracker.add(c.answer);
    opts.onSample?.(c);
    if (rule && tracker.samples < k) {
      stopReason = tracker.shouldStop(k - tracker.samples, rule);
      if (stopReason) ctl.abort();
    }
  }
  return {
    ...tracker.result(),
    candidates,
    samplesRequested: k,
    samplesSaved: k - candidates.length,
    stopReason,
    tokens,
  };
}
