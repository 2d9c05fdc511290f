/**
 * One entry point for every strategy, used by the library, the CLI, the server and the eval:
 *   greedy            one sample at temperature 0
 *   self_consistency  k samples, majority vote on extracted answers, adaptive stopping
 *   best_of_n         N samples scored by a verifier; best score or verifier-weighted vote
 *   mcts              tree search over lines (mcts.ts): PUCT with verifier values and model priors,
 *                     `samples` next lines per expansion, within a token budget
 * Names accepted: greedy | self_consistency (sc) | best_of_n (bon) | mcts. Unknown -> InputError.
 */
import { InputError } from "../errors.js";
import { bestOfN, type Selection } from "./best-of-n.js";
import { makeExtractor, type Extractor, type ExtractorName } from "../verify/extract.js";
import { collect, type Candidate, type Generator } from "./generator.js";
import { selfConsistency } from "./self-consistency.js";
import { mcts } from "./mcts.js";
import type { StepGenerator } from "./step-search.js";
import { splitReasoning } from "./split.js";
import type { Verifier } from "../verify/verifier.js";
import type { AnswerCount, StopReason, StopRule } from "../verify/vote.js";

export type StrategyName = "greedy" | "self_consistency" | "best_of_n" | "mcts";

export function parseStrategy(s: unknown): StrategyName {
  switch (s) {
    case "greedy":
      return "greedy";
    case "sc":
    case "self_consistency":
    case "self-consistency":
      return "self_consistency";
    case "bon":
    case "best_of_n":
    case "best-of-n":
      return "best_of_n";
    case "mcts":
      return "mcts";
    default:
      throw new InputError(
        `unknown reasoning strategy ${JSON.stringify(s)} (greedy, self_consistency, best_of_n, mcts)`,
        { field: "reasoning.strategy" },
      );
  }
}

export interface StrategyOptions {
  strategy: StrategyName;
  /** k / N; ignored by greedy. Default 8. */
  samples?: number;
  /** Self-consistency stop rule; false = decode all. Default { decided: true }. */
  earlyStop?: StopRule | false;
  /** Best-of-N: the verifier (required) and the selection rule. */
  verifier?: Verifier;
  selection?: Selection;
  /** The question as the verifier sees it (best_of_n). */
  question?: string;
  extractor?: ExtractorName | { regex: string | RegExp } | Extractor;
  /** MCTS: most tokens decoded per question (all expansions). Default 1024. */
  budget?: number;
  /** MCTS: PUCT exploration constant. Default 1. */
  cPuct?: number;
  /** MCTS: how a node's children are drawn (mcts.ts): diverse (default) or sample. */
  mctsExpansion?: "diverse" | "sample";
  /** MCTS: stop once a finished candidate scores this (default the verifier's accept); > 1 spends the budget. */
  mctsTarget?: number;
  /** MCTS diverse expansion: branch where the greedy line's probability is below this (default 0.9). */
  mctsBranchBelow?: number;
  /** Sampling temperature for sc/bon/mcts. Default 0.8. */
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  maxTokens?: number;
  thinkingBudget?: number;
  /** The generation prompt already opened `<think>` (for the reasoning split). */
  startsInThinking?: boolean;
  signal?: AbortSignal;
}

export interface StrategyResult {
  strategy: StrategyName;
  answer: string | undefined;
  /** The chosen candidate's text, and it split into reasoning and answer content. */
  text: string;
  reasoning: string;
  content: string;
  candidates: Candidate[];
  /** Vote counts (sc, bon) and the leader's share. */
  counts?: AnswerCount[];
  agreement?: number;
  samplesRequested: number;
  samplesSaved: number;
  stopReason?: StopReason;
  /** Completion tokens decoded across all samples, and of those inside thinking blocks. */
  tokens: number;
  reasoningTokens: number;
  /** MCTS: expansions, verifier calls and why it stopped. */
  search?: { expansions: number; scored: number; stopReason: string };
  wallMs: number;
}

/** A Generator that can also sample single lines (llmGenerator's); MCTS needs it. */
export type StepCapableGenerator = Generator & { steps?: StepGenerator };

export async function runStrategy(gen: StepCapableGenerator, o: StrategyOptions): Promise<StrategyResult> {
  const t0 = performance.now();
  const sampling = {
    seed: o.seed,
    maxTokens: o.maxTokens,
    thinkingBudget: o.thinkingBudget,
    signal: o.signal,
    topP: o.topP,
    topK: o.topK,
  };
  const temperature = o.temperature ?? 0.8;
  const samples = o.samples ?? 8;
  const extract = makeExtractor(o.extractor);
  const reasoningOf = (cs: Candidate[]) => cs.reduce((a, c) => a + (c.reasoningTokens ?? 0), 0);
  const finish = (
    r: Omit<StrategyResult, "reasoning" | "content" | "wallMs" | "strategy">,
  ): StrategyResult => {
    const parts = splitReasoning(r.text, o.startsInThinking);
    return { strategy: o.strategy, ...r, ...parts, wallMs: performance.now() - t0 };
  };
  switch (o.strategy) {
    case "greedy": {
      const [c] = await collect(gen, { ...sampling, n: 1, temperature: 0 });
      c.answer = extract(c.text);
      return finish({
        answer: c.answer,
        text: c.text,
        candidates: [c],
        samplesRequested: 1,
        samplesSaved: 0,
        tokens: c.completionTokens,
        reasoningTokens: c.reasoningTokens ?? 0,
      });
    }
    case "self_consistency": {
      const r = await selfConsistency(gen, {
        ...sampling,
        samples,
        temperature,
        extractor: o.extractor,
        earlyStop: o.earlyStop,
      });
      const win = r.candidates.find((c) => c.answer === r.answer) ?? r.candidates[0];
      return finish({
        answer: r.answer,
        text: win?.text ?? "",
        candidates: r.candidates,
        counts: r.counts,
        agreement: r.agreement,
        samplesRequested: samples,
        samplesSaved: r.samplesSaved,
        stopReason: r.stopReason,
        tokens: r.tokens,
        reasoningTokens: reasoningOf(r.candidates),
      });
    }
    case "best_of_n": {
      if (!o.verifier) throw new InputError("best_of_n needs a verifier", { field: "reasoning.verifier" });
      const r = await bestOfN(gen, {
        ...sampling,
        samples,
        temperature,
        question: o.question ?? "",
        verifier: o.verifier,
        selection: o.selection,
        extractor: o.extractor,
      });
      return finish({
        answer: r.answer,
        text: r.best?.text ?? "",
        candidates: r.candidates,
        counts: r.vote.counts,
        agreement: r.vote.agreement,
        samplesRequested: samples,
        samplesSaved: 0,
        tokens: r.tokens,
        reasoningTokens: reasoningOf(r.candidates),
      });
    }
    case "mcts": {
      if (!o.verifier) throw new InputError("mcts needs a verifier", { field: "reasoning.verifier" });
      if (!gen.steps)
        throw new InputError("mcts needs a generator that samples single lines (an llmGenerator)", {
          field: "reasoning.strategy",
        });
      const r = await mcts(gen.steps, {
        question: o.question ?? "",
        verifier: o.verifier,
        budget: o.budget,
        expand: samples,
        cPuct: o.cPuct,
        expansion: o.mctsExpansion,
        target: o.mctsTarget,
        branchBelow: o.mctsBranchBelow,
        temperature,
        topP: o.topP,
        seed: o.seed,
        extractor: o.extractor,
        signal: o.signal,
      });
      const candidates: Candidate[] = r.finished.map((f, index) => ({
        index,
        text: f.text,
        finishReason: "stop",
        completionTokens: 0,
        answer: extract(f.text),
        score: f.value,
      }));
      return finish({
        answer: r.answer,
        text: r.text,
        candidates,
        samplesRequested: samples,
        samplesSaved: 0,
        stopReason: undefined,
        tokens: r.tokens,
        reasoningTokens: 0,
        search: { expansions: r.expansions, scored: r.scored, stopReason: r.stopReason },
      });
    }
    default:
      throw new InputError(`unknown reasoning strategy '${o.strategy as string}'`, {
        field: "reasoning.strategy",
      });
  }
}
