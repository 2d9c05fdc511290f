/**
 * CLI flags for reasoning at test time, shared by `run` and `chat` (each adds them with
 * addReasoningOptions and hands its parsed options here):
 *   --thinking-budget <n>   most tokens inside <think> (enforced in decoding)
 *   --no-thinking           enable_thinking=false in the chat template (run)
 *   --strategy <s>          greedy | sc | bon | mcts (run)
 *   --samples <k>           k / N / lines per MCTS expansion (run; default 8)
 *   --budget <tokens>       MCTS: most tokens decoded (run; default 1024)
 *   --verifier <v>          arithmetic | process | judge (best-of-N, MCTS; default arithmetic)
 *   --no-early-stop         self-consistency decodes all k
 *   --show-reasoning        print the thinking part too (run)
 *   --answer-prefix <text>  forced after a budget-forced </think> (run, chat)
 */
import type { Command } from "commander";
import { InputError } from "../errors.js";
import { loadLLM, type GenerateOptions, type LLM, type LoadLLMOptions } from "../engine/llm.js";
import { budgetFor, budgetForcer } from "../reasoning/budget.js";
import { llmGenerator } from "../reasoning/llm-generator.js";
import { parseStrategy, runStrategy } from "../reasoning/strategy.js";
import { ArithmeticVerifier } from "../verify/arithmetic.js";
import { ModelJudgeVerifier, llmJudge } from "../verify/model-judge.js";
import { columnProcessVerifier } from "../train/rl/process-verifier.js";
import type { Verifier } from "../verify/verifier.js";

export interface ReasoningCliOptions {
  thinkingBudget?: string;
  thinking?: boolean;
  strategy?: string;
  samples?: string;
  verifier?: string;
  budget?: string;
  earlyStop?: boolean;
  showReasoning?: boolean;
  answerPrefix?: string;
}

export function addReasoningOptions(cmd: Command, full = true): Command {
  cmd.option(
    "--thinking-budget <n>",
    "most tokens inside <think>; then the block is closed and the model answers",
  );
  cmd.option("--answer-prefix <text>", "forced after a budget-forced </think>, e.g. 'The answer is'");
  if (!full) return cmd;
  return cmd
    .option("--no-thinking", "render the chat template with enable_thinking=false")
    .option(
      "--strategy <s>",
      "test-time strategy: greedy, sc (self-consistency), bon (best-of-N) or mcts (tree search over lines)",
    )
    .option("--samples <k>", "samples for sc / bon, lines per expansion for mcts (1..16)", "8")
    .option("--budget <tokens>", "mcts: most tokens decoded in all (default 1024)")
    .option(
      "--verifier <v>",
      "best-of-N / MCTS verifier: arithmetic, process (column steps) or judge (the model asked yes/no)",
      "arithmetic",
    )
    .option("--no-early-stop", "self-consistency: decode all samples (no adaptive stopping)")
    .option("--show-reasoning", "print the thinking part as well as the answer");
}

function budgetOf(o: ReasoningCliOptions): number | undefined {
  if (o.thinkingBudget === undefined) return undefined;
  const n = Number(o.thinkingBudget);
  if (!Number.isInteger(n) || n < 0)
    throw new InputError(`--thinking-budget must be an integer >= 0, got '${o.thinkingBudget}'`, {
      field: "thinking-budget",
    });
  return n;
}

/** GenerateOptions additions for streaming commands (chat): the budget hook. */
export function reasoningGenOptions(llm: LLM, o: ReasoningCliOptions): Partial<GenerateOptions> {
  const budget = budgetOf(o);
  if (budget === undefined) return {};
  return { forceToken: budgetForcer(budgetFor(llm.tokenizer, budget, undefined, o.answerPrefix)) };
}

/** Does `run` need the reasoning path? */
export function wantsReasoning(o: ReasoningCliOptions): boolean {
  return o.strategy !== undefined || o.thinkingBudget !== undefined || o.thinking === false;
}

/**
 * `run` with reasoning flags: the prompt as a user message, the strategy's answer printed, a
 * summary line on stderr. `engine`: the load options from the command's flags (engine-options.ts).
 */
export async function runReasoningCli(
  o: ReasoningCliOptions & { model: string; prompt?: string; nPredict: string; temp?: string; seed?: string },
  engine: LoadLLMOptions,
): Promise<void> {
  if (o.prompt === undefined)
    throw new InputError("reasoning flags need -p/--prompt (a question)", { field: "prompt" });
  const strategy = parseStrategy(o.strategy ?? "greedy");
  const samples = Number(o.samples ?? 8);
  if (!Number.isInteger(samples) || samples < 1 || samples > 16)
    throw new InputError(`--samples must be an integer in 1..16, got '${o.samples}'`, { field: "samples" });
  const verifierName = o.verifier ?? "arithmetic";
  if (!["arithmetic", "judge", "process"].includes(verifierName))
    throw new InputError(`--verifier must be arithmetic, process or judge, got '${o.verifier}'`, {
      field: "verifier",
    });
  const budget = o.budget === undefined ? undefined : Number(o.budget);
  if (budget !== undefined && !(Number.isInteger(budget) && budget >= 16 && budget <= 1e6))
    throw new InputError(`--budget must be an integer in 16..1000000, got '${o.budget}'`, {
      field: "budget",
    });
  const maxTokens = Number(o.nPredict);
  const llm = await loadLLM(o.model, { ...engine, parallel: strategy === "greedy" ? 1 : samples });
  try {
    const gen = llmGenerator(
      llm,
      { messages: [{ role: "user", content: o.prompt }] },
      { enableThinking: o.thinking === false ? false : undefined, answerPrefix: o.answerPrefix },
    );
    const r = await runStrategy(gen, {
      strategy,
      samples,
      earlyStop: o.earlyStop === false ? false : {},
      verifier: ((): Verifier =>
        verifierName === "judge"
          ? new ModelJudgeVerifier(llmJudge(llm))
          : verifierName === "process"
            ? columnProcessVerifier
            : new ArithmeticVerifier())(),
      budget,
      question: o.prompt,
      temperature: o.temp === undefined || strategy === "greedy" ? undefined : Number(o.temp) || 0.8,
      seed: o.seed === undefined ? undefined : Number(o.seed),
      maxTokens,
      thinkingBudget: budgetOf(o),
      startsInThinking: gen.prompt.opensThinking,
    });
    if (o.showReasoning && r.reasoning.trim()) process.stdout.write(`<think>${r.reasoning}</think>\n`);
    process.stdout.write(`${r.content}\n`);
    const votes = r.counts?.length
      ? ` | votes ${r.counts.map((c) => `${c.answer}:${Number.isInteger(c.votes) ? c.votes : c.votes.toFixed(2)}`).join(" ")}`
      : "";
    process.stderr.write(
      `[${r.strategy}${strategy === "greedy" ? "" : `@${samples}`} | answer ${r.answer ?? "none"}${votes}${r.samplesSaved ? ` | ${r.samplesSaved} samples saved (${r.stopReason})` : ""}${r.search ? ` | ${r.search.expansions} expansions, stop: ${r.search.stopReason}` : ""} | ${r.tokens} tok (${r.reasoningTokens} thinking) | ${(r.wallMs / 1000).toFixed(1)} s]\n`,
    );
  } finally {
    await llm.close();
  }
}
