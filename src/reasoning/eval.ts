/**
 * The test-time-compute eval: run one strategy configuration over a task's questions and measure
 * accuracy, tokens decoded per question (all samples, thinking included) and wall time. A list of
 * configurations gives the accuracy-versus-compute curve (plot.ts draws it).
 */
import type { LLM } from "../engine/llm.js";
import { normalizeAnswer } from "../verify/extract.js";
import type { EvalItem } from "./eval-task.js";
import { llmGenerator } from "./llm-generator.js";
import { runStrategy, type StrategyName } from "./strategy.js";
import { ArithmeticVerifier } from "../verify/arithmetic.js";
import type { Verifier } from "../verify/verifier.js";
import { columnProcessVerifier } from "../train/rl/process-verifier.js";
import { InputError } from "../errors.js";

/**
 * Verifiers the eval can name: "arithmetic" (outcome: the question re-evaluated, plus a share of
 * re-checked "expr = n" steps; an oracle on questions that parse, i.e. × and +/−, not on word
 * problems), "process" (the column-format step checker: no knowledge of the right answer) and
 * "prm" (the learned process reward model, train/prm.ts).
 */
export type EvalVerifierName = "arithmetic" | "process" | "prm";

export function parseEvalVerifier(s: string): EvalVerifierName {
  if (s === "arithmetic" || s === "process" || s === "prm") return s;
  throw new InputError(`unknown verifier '${s}' (arithmetic, process, prm)`, { field: "verifier" });
}

/** `prm`: the learned process reward model (train/prm.ts), loaded by the caller (--prm). */
export function evalVerifier(name: EvalVerifierName, o: { prm?: Verifier } = {}): Verifier {
  if (name === "prm") {
    if (!o.prm) throw new InputError("the prm verifier needs a PRM adapter (--prm <file>)", { field: "prm" });
    return o.prm;
  }
  return name === "process" ? columnProcessVerifier : new ArithmeticVerifier();
}
import type { StopRule } from "../verify/vote.js";

export interface EvalConfig {
  strategy: StrategyName;
  samples?: number;
  thinkingBudget?: number;
  earlyStop?: StopRule | false;
  temperature?: number;
  topP?: number;
  seed?: number;
  maxTokens?: number;
  /** best_of_n / mcts: the verifier (default: arithmetic re-check) and its name for the label. */
  verifier?: Verifier;
  verifierName?: string;
  /** mcts: most tokens per question. */
  budget?: number;
  /** mcts: how children are drawn (default diverse). */
  mctsExpansion?: "diverse" | "sample";
  /** mcts: stop score (default the verifier's accept; > 1 spends the budget). */
  mctsTarget?: number;
  /** mcts diverse: branch below this greedy-line probability (default 0.9). */
  mctsBranchBelow?: number;
  /** Forced after a budget-forced `</think>` (e.g. "The answer is"). */
  answerPrefix?: string;
}

export interface EvalPoint {
  label: string;
  strategy: StrategyName;
  samples: number;
  thinkingBudget: number | null;
  /** best_of_n / mcts: the verifier's name. */
  verifier?: string;
  questions: number;
  correct: number;
  accuracy: number;
  /** Completion tokens per question (all samples) and of those inside thinking. */
  tokensPerQuestion: number;
  reasoningTokensPerQuestion: number;
  samplesSavedPerQuestion: number;
  /** Correct / asked per problem kind (add, sub, mul, word). */
  byKind: Record<string, { correct: number; questions: number }>;
  /** One character per question, in order: "1" right, "0" wrong (paired comparisons of configs). */
  outcomes: string;
  wallS: number;
}

/** Wilson score interval (95%, z = 1.96) for `correct` of `n`: [low, high]. */
export function wilson95(correct: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959964;
  const p = correct / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

/**
 * Exact McNemar test of two configurations on the same questions (outcome strings of EvalPoint):
 * b = right only in `a`, c = right only in `b`; two-sided p = min(1, 2 P(X <= min(b, c))) for
 * X ~ Binomial(b + c, 1/2).
 */
export function mcnemarExact(a: string, b: string): { onlyA: number; onlyB: number; p: number } {
  if (a.length !== b.length)
    throw new InputError(`paired outcomes differ in length (${a.length} vs ${b.length})`);
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === "1" && b[i] !== "1") onlyA++;
    if (b[i] === "1" && a[i] !== "1") onlyB++;
  }
  const n = onlyA + onlyB;
  const k = Math.min(onlyA, onlyB);
  // P(X <= k) with log-space binomial coefficients
  let cdf = 0;
  let logC = 0; // log C(n, 0)
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    cdf += Math.exp(logC - n * Math.LN2);
  }
  return { onlyA, onlyB, p: n === 0 ? 1 : Math.min(1, 2 * cdf) };
}

export function configLabel(c: EvalConfig): string {
  const v = c.verifierName ?? "arithmetic";
  const base =
    c.strategy === "greedy"
      ? "greedy"
      : c.strategy === "self_consistency"
        ? `sc@${c.samples ?? 8}`
        : c.strategy === "best_of_n"
          ? `best-of-${c.samples ?? 8} [${v}]`
          : `mcts k=${c.samples ?? 8} budget=${c.budget ?? 1024} [${v}]${c.mctsExpansion === "sample" ? " plain" : ""}${c.mctsTarget === undefined ? "" : ` target=${c.mctsTarget}`}${c.mctsBranchBelow === undefined ? "" : ` branch<${c.mctsBranchBelow}`}`;
  return c.thinkingBudget === undefined ? base : `${base} budget=${c.thinkingBudget}`;
}

export async function evalConfig(
  llm: LLM,
  items: EvalItem[],
  c: EvalConfig,
  onItem?: (i: number, ok: boolean) => void,
): Promise<EvalPoint> {
  const t0 = performance.now();
  let correct = 0;
  let tokens = 0;
  let reasoning = 0;
  let saved = 0;
  const byKind: EvalPoint["byKind"] = {};
  const verifier = c.verifier ?? new ArithmeticVerifier();
  let outcomes = "";
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const gen = llmGenerator(
      llm,
      { messages: [{ role: "user", content: it.question }] },
      { enableThinking: true, answerPrefix: c.answerPrefix },
    );
    const r = await runStrategy(gen, {
      strategy: c.strategy,
      samples: c.samples,
      thinkingBudget: c.thinkingBudget,
      earlyStop: c.earlyStop,
      temperature: c.temperature,
      topP: c.topP,
      seed: c.seed === undefined ? undefined : c.seed + 1000 * i,
      maxTokens: c.maxTokens,
      verifier,
      budget: c.budget,
      mctsExpansion: c.mctsExpansion,
      mctsTarget: c.mctsTarget,
      mctsBranchBelow: c.mctsBranchBelow,
      question: it.question,
      startsInThinking: gen.prompt.opensThinking,
    });
    const ok = r.answer !== undefined && r.answer === normalizeAnswer(it.answer);
    if (ok) correct++;
    outcomes += ok ? "1" : "0";
    const k = (byKind[it.kind] ??= { correct: 0, questions: 0 });
    k.questions++;
    if (ok) k.correct++;
    tokens += r.tokens;
    reasoning += r.reasoningTokens;
    saved += r.samplesSaved;
    onItem?.(i, ok);
  }
  const n = items.length;
  return {
    label: configLabel(c),
    strategy: c.strategy,
    samples: c.strategy === "greedy" ? 1 : (c.samples ?? 8),
    thinkingBudget: c.thinkingBudget ?? null,
    ...(c.strategy === "best_of_n" || c.strategy === "mcts"
      ? { verifier: c.verifierName ?? "arithmetic" }
      : {}),
    questions: n,
    correct,
    accuracy: n ? correct / n : 0,
    tokensPerQuestion: n ? tokens / n : 0,
    reasoningTokensPerQuestion: n ? reasoning / n : 0,
    samplesSavedPerQuestion: n ? saved / n : 0,
    byKind,
    outcomes,
    wallS: (performance.now() - t0) / 1000,
  };
}
