/**
 * The `edgellm eval` test-time-compute sweep, as a library function the CLI calls: parse the
 * flag lists (--strategy greedy,sc,bon --samples 4,8,16 --thinking-budget none,16,64), run every
 * configuration on the same questions, print a table (or JSON) and draw the SVG curve.
 * Series in the plot: greedy + self-consistency by k; best-of-N by N; accuracy against thinking
 * budget (greedy with each budget).
 */
import { nodeImport } from "../platform/node-import.js";
import { InputError } from "../errors.js";
import type { LLM } from "../engine/llm.js";
import {
  configLabel,
  evalConfig,
  evalVerifier,
  parseEvalVerifier,
  wilson95,
  type EvalConfig,
  type EvalPoint,
} from "./eval.js";
import type { EvalItem } from "./eval-task.js";
import { accuracySVG, type PlotSeries } from "./plot.js";
import type { Verifier } from "../verify/verifier.js";
import { parseStrategy, type StrategyName } from "./strategy.js";

export interface SweepFlags {
  strategy: string;
  samples: string;
  thinkingBudget?: string;
  temperature?: string;
  topP?: string;
  seed?: string;
  maxTokens?: string;
  earlyStop?: boolean;
  /** best_of_n / mcts verifiers, comma-separated (arithmetic, process). Default arithmetic. */
  verifier?: string;
  /** mcts token budgets, comma-separated. Default 1024. */
  budget?: string;
  /** mcts expansions, comma-separated: diverse (default), sample. */
  mctsExpansion?: string;
  /** mcts stop score (> 1 spends the whole budget). Default the verifier's accept. */
  mctsTarget?: string;
  /** mcts diverse expansion: branch below this greedy-line probability (0..1). Default 0.9. */
  mctsBranchBelow?: string;
  /** Forced after a budget-forced `</think>`. */
  answerPrefix?: string;
}

function list(flag: string, v: string, each: (s: string) => number | null): (number | null)[] {
  const parts = v.split(",").map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === ""))
    throw new InputError(`${flag} must be a comma-separated list, got '${v}'`, { field: flag });
  return parts.map(each);
}

function intFlag(flag: string, lo: number, hi: number): (s: string) => number {
  return (s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < lo || n > hi)
      throw new InputError(`${flag}: '${s}' is not an integer in ${lo}..${hi}`, { field: flag });
    return n;
  };
}

/** Flags -> configurations, in run order. */
export function sweepConfigs(f: SweepFlags, o: { prm?: Verifier } = {}): EvalConfig[] {
  const strategies = f.strategy.split(",").map((s) => parseStrategy(s.trim()));
  const samples = list("--samples", f.samples, intFlag("--samples", 1, 16)) as number[];
  const budgets =
    f.thinkingBudget === undefined
      ? [null]
      : list("--thinking-budget", f.thinkingBudget, (s) =>
          s === "none" ? null : intFlag("--thinking-budget", 0, 1e6)(s),
        );
  const temperature = f.temperature === undefined ? undefined : Number(f.temperature);
  if (temperature !== undefined && !(temperature >= 0 && temperature <= 2))
    throw new InputError(`--temperature must be in [0, 2], got ${f.temperature}`, { field: "temperature" });
  const topP = f.topP === undefined ? undefined : Number(f.topP);
  if (topP !== undefined && !(topP > 0 && topP <= 1))
    throw new InputError(`--top-p must be in (0, 1], got ${f.topP}`, { field: "top-p" });
  const seed = f.seed === undefined ? 1 : intFlag("--seed", 0, 2 ** 31)(f.seed);
  const maxTokens = f.maxTokens === undefined ? undefined : intFlag("--max-tokens", 1, 1e6)(f.maxTokens);
  const verifiers = (f.verifier ?? "arithmetic").split(",").map((s) => parseEvalVerifier(s.trim()));
  const mctsBudgets = list("--budget", f.budget ?? "1024", intFlag("--budget", 16, 1e6)) as number[];
  const expansions = (f.mctsExpansion ?? "diverse").split(",").map((s) => {
    const e = s.trim();
    if (e !== "diverse" && e !== "sample")
      throw new InputError(`--mcts-expansion must list diverse or sample, got '${s}'`, {
        field: "mcts-expansion",
      });
    return e;
  });
  const mctsTarget = f.mctsTarget === undefined ? undefined : Number(f.mctsTarget);
  if (mctsTarget !== undefined && !(mctsTarget >= 0 && Number.isFinite(mctsTarget)))
    throw new InputError(`--mcts-target must be a number >= 0, got ${f.mctsTarget}`, {
      field: "mcts-target",
    });
  const mctsBranchBelow = f.mctsBranchBelow === undefined ? undefined : Number(f.mctsBranchBelow);
  if (mctsBranchBelow !== undefined && !(mctsBranchBelow >= 0 && mctsBranchBelow <= 1))
    throw new InputError(`--mcts-branch-below must be in 0..1, got ${f.mctsBranchBelow}`, {
      field: "mcts-branch-below",
    });
  const out: EvalConfig[] = [];
  const seen = new Set<string>();
  for (const strategy of strategies) {
    const scored = strategy === "best_of_n" || strategy === "mcts";
    for (const k of strategy === "greedy" ? [1] : samples) {
      // a thinking budget is a decoding hook of whole samples; MCTS has its own token budget
      for (const cfg of (strategy === "mcts" ? [null] : budgets).flatMap((b) =>
        (scored ? verifiers : [undefined]).flatMap((v) =>
          (strategy === "mcts" ? mctsBudgets : [undefined]).flatMap((mb) =>
            (strategy === "mcts" ? expansions : [undefined]).map((ex) => [b, v, mb, ex] as const),
          ),
        ),
      )) {
        const [b, v, mb, ex] = cfg;
        const key = `${strategy}/${k}/${b}/${v}/${mb}/${ex}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({
          ...(v === undefined ? {} : { verifier: evalVerifier(v, o), verifierName: v }),
          ...(mb === undefined ? {} : { budget: mb }),
          ...(ex === undefined ? {} : { mctsExpansion: ex, mctsTarget, mctsBranchBelow }),
          strategy,
          samples: k,
          thinkingBudget: b ?? undefined,
          temperature,
          topP,
          seed,
          maxTokens,
          earlyStop: f.earlyStop === false ? false : undefined,
          answerPrefix: f.answerPrefix,
        });
      }
    }
  }
  return out;
}

export function formatTable(points: EvalPoint[]): string {
  const kinds = [...new Set(points.flatMap((p) => Object.keys(p.byKind ?? {})))].sort();
  const rows = [
    [
      "config",
      "accuracy",
      "95% CI",
      "correct",
      ...kinds,
      "tokens/q",
      "thinking tok/q",
      "saved samples/q",
      "wall s",
    ],
  ];
  for (const p of points) {
    rows.push([
      p.label,
      `${(p.accuracy * 100).toFixed(1)}%`,
      wilson95(p.correct, p.questions)
        .map((x) => (x * 100).toFixed(1))
        .join("–"),
      `${p.correct}/${p.questions}`,
      ...kinds.map((k) => {
        const t = p.byKind?.[k];
        return t ? `${k} ${t.correct}/${t.questions}` : "";
      }),
      p.tokensPerQuestion.toFixed(1),
      p.reasoningTokensPerQuestion.toFixed(1),
      p.samplesSavedPerQuestion.toFixed(2),
      p.wallS.toFixed(1),
    ]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return (
    rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ")).join("\n") +
    "\n"
  );
}

export function plotSeries(points: EvalPoint[]): PlotSeries[] {
  const by = (name: string, f: (p: EvalPoint) => boolean): PlotSeries => ({
    name,
    points: points.filter(f).map((p) => ({ x: p.tokensPerQuestion, y: p.accuracy, label: p.label })),
  });
  const noBudget = (p: EvalPoint) => p.thinkingBudget === null;
  const series = [
    by(
      "greedy + self-consistency",
      (p) => noBudget(p) && (p.strategy === "greedy" || p.strategy === "self_consistency"),
    ),
    ...[
      ...new Set(points.filter((p) => p.strategy === "best_of_n").map((p) => p.verifier ?? "arithmetic")),
    ].map((v) =>
      by(
        `best-of-N [${v}]`,
        (p) => noBudget(p) && p.strategy === "best_of_n" && (p.verifier ?? "arithmetic") === v,
      ),
    ),
    ...[...new Set(points.filter((p) => p.strategy === "mcts").map((p) => p.verifier ?? "arithmetic"))].map(
      (v) =>
        by(`MCTS [${v}]`, (p) => noBudget(p) && p.strategy === "mcts" && (p.verifier ?? "arithmetic") === v),
    ),
  ];
  const strategies = new Set(points.filter((p) => !noBudget(p)).map((p) => `${p.strategy}/${p.samples}`));
  for (const s of strategies) {
    const [st, k] = s.split("/");
    const name =
      st === "greedy"
        ? "greedy vs thinking budget"
        : `${st === "self_consistency" ? "sc" : "best-of"}@${k} vs thinking budget`;
    const sorted = points
      .filter((p) => !noBudget(p) && `${p.strategy}/${p.samples}` === s)
      .sort((a, b) => a.thinkingBudget! - b.thinkingBudget!);
    series.push({
      name,
      keepOrder: true,
      points: sorted.map((p) => ({ x: p.tokensPerQuestion, y: p.accuracy, label: p.label })),
    });
  }
  return series.filter((s) => s.points.length > 0);
}

/**
 * Accuracy against thinking tokens actually spent per question, one series per strategy: its
 * budgeted points plus its unbudgeted one (the model's own thinking length). Empty when the
 * sweep has no budgets.
 */
export function budgetPlotSeries(points: EvalPoint[]): PlotSeries[] {
  const keys = new Set(
    points.filter((p) => p.thinkingBudget !== null).map((p) => `${p.strategy}/${p.samples}`),
  );
  return [...keys].map((key) => {
    const [st, k] = key.split("/");
    const name = st === "greedy" ? "greedy" : `${st === "self_consistency" ? "sc" : "best-of"}@${k}`;
    const pts = points.filter((p) => `${p.strategy}/${p.samples}` === key);
    return {
      name,
      points: pts.map((p) => ({
        x: p.reasoningTokensPerQuestion,
        y: p.accuracy,
        label: p.thinkingBudget === null ? "no budget" : `budget ${p.thinkingBudget}`,
      })),
    };
  });
}

export interface SweepOutput {
  json?: boolean;
  plot?: string;
  write: (s: string) => void;
  progress?: (s: string) => void;
}

export async function runSweep(
  llm: LLM,
  items: EvalItem[],
  configs: EvalConfig[],
  o: SweepOutput,
): Promise<EvalPoint[]> {
  const points: EvalPoint[] = [];
  for (const c of configs) {
    const p = await evalConfig(llm, items, c, (i) =>
      o.progress?.(`\r${configLabel(c)}: ${i + 1}/${items.length}`),
    );
    o.progress?.("\n");
    points.push(p);
  }
  if (o.json) o.write(JSON.stringify({ questions: items.length, points }, null, 2) + "\n");
  else o.write(formatTable(points));
  if (o.plot) {
    const { writeFile } = await nodeImport<typeof import("node:fs/promises")>(
      "node:fs/promises",
      "writing plots",
    );
    await writeFile(
      o.plot,
      accuracySVG(plotSeries(points), `Accuracy vs test-time compute (${items.length} questions)`),
    );
    // Accuracy against thinking spent, beside it: <name>-budget.svg
    const bs = budgetPlotSeries(points);
    if (bs.length > 0) {
      await writeFile(
        o.plot.replace(/(\.svg)?$/i, "-budget.svg"),
        accuracySVG(
          bs,
          `Accuracy vs thinking budget (${items.length} questions)`,
          "thinking tokens per question",
        ),
      );
    }
  }
  return points;
}

export type { StrategyName };
