/**
 * `edgellm eval -m <file> --task arithmetic [--questions 50] [--strategy greedy,sc,bon]
 *   [--samples 4,8,16] [--thinking-budget none,16,64] [--json] [--plot out.svg]`
 * Accuracy on held-out questions, with the completion tokens spent per question (all samples,
 * thinking included) and wall time, for every strategy x samples x thinking-budget combination:
 * the accuracy-versus-compute curve of test-time reasoning (src/reasoning/eval-sweep.ts).
 * Greedy alone (the default) is plain model accuracy.
 *
 * `edgellm eval -m <file> --task arithmetic --n 500 [--json]`: greedy exact match of the final
 * answer on the first n held-out problems of the default model's test split, by operation and
 * digit count (src/train/eval/arithmetic.ts).
 */
import type { Command } from "commander";
import { InputError } from "../errors.js";
import { loadLLM } from "../engine/llm.js";
import { collectLora, LORA_FLAG, LORA_HELP } from "./lora-options.js";
import { loadTask, parseTaskSet } from "../reasoning/eval-task.js";
import { runSweep, sweepConfigs } from "../reasoning/eval-sweep.js";
import { engineOptions, parsePositiveInt } from "./engine-options.js";
import { resolveModel } from "./default-model.js";
import { readFile } from "node:fs/promises";
import { parsePrmHead, PrmScorer, PrmVerifier } from "../train/prm.js";
import { arithmeticTestItems, evalArithmetic, formatArithReport } from "../train/eval/arithmetic.js";

interface EvalOptions {
  lora?: string[];
  model?: string;
  task: string;
  set?: string;
  kinds?: string;
  questions: string;
  strategy: string;
  samples: string;
  thinkingBudget?: string;
  temperature?: string;
  topP?: string;
  seed?: string;
  maxTokens?: string;
  earlyStop: boolean;
  verifier?: string;
  prm?: string;
  budget?: string;
  mctsExpansion?: string;
  mctsTarget?: string;
  mctsBranchBelow?: string;
  answerPrefix?: string;
  json?: boolean;
  plot?: string;
  kernels: string;
  threads?: string;
  n?: string;
}

export function register(program: Command): void {
  program
    .command("eval")
    .description(
      "accuracy vs test-time compute on held-out questions (greedy, self-consistency, best-of-N, thinking budgets)",
    )
    .option(
      "-m, --model <file|url>",
      "GGUF model, a path or an http(s) URL (pulled into the model cache; default: the embedded models/edgellm-default-q8_0.gguf)",
    )
    .option("--task <name>", "eval task: arithmetic (held-out split of the training corpus)", "arithmetic")
    .option(
      "--set <v1|v2>",
      "which corpus's held-out split: v1 (default) or v2 (more ×, two-step word problems)",
    )
    .option("--kinds <list>", "only these problem kinds: add, sub, mul, word (comma-separated)")
    .option("--questions <n>", "questions to ask", "50")
    .option(
      "--strategy <list>",
      "comma-separated: greedy, sc (self-consistency), bon (best-of-N), mcts (tree search over lines)",
      "greedy",
    )
    .option("--samples <list>", "comma-separated sample counts for sc/bon, lines per expansion for mcts", "8")
    .option(
      "--verifier <list>",
      "bon/mcts verifiers, comma-separated: arithmetic (outcome), process (column steps), prm (learned, needs --prm)",
    )
    .option("--prm <head.json>", "the learned PRM for --verifier prm (scripts/train-prm.mjs writes it)")
    .option("--budget <list>", "mcts: comma-separated token budgets per question (default 1024)")
    .option(
      "--mcts-target <score>",
      "mcts: stop once a finished candidate scores this (default: the verifier's accept; above 1 spends the budget)",
    )
    .option(
      "--mcts-branch-below <p>",
      "mcts diverse expansion: sample siblings where the greedy line's probability is below p (default 0.9)",
    )
    .option(
      "--mcts-expansion <list>",
      "mcts: comma-separated: diverse (greedy line first, distinct sampled siblings; default) or sample (k plain samples)",
    )
    .option("--thinking-budget <list>", "comma-separated thinking budgets in tokens ('none' = unlimited)")
    .option("--temperature <t>", "sampling temperature for sc/bon (default 0.8)")
    .option("--top-p <p>", "nucleus sampling for sc/bon (default: off)")
    .option("--seed <n>", "base seed (question i, sample j use seed + 1000 i + j)", "1")
    .option("--max-tokens <n>", "most completion tokens per sample (default: the room left in the context)")
    .option("--no-early-stop", "self-consistency decodes all samples")
    .option("--answer-prefix <text>", "forced after a budget-forced </think> (e.g. 'The answer is')")
    .option("--json", "print JSON instead of a table")
    .option("--plot <file.svg>", "draw accuracy vs tokens per question")
    .option("--kernels <kind>", "wasm or ts", "wasm")
    .option("--threads <n>", "threads for the WASM kernels")
    .option("--n <n>", "greedy exact match on n held-out problems, by operation and digit count")
    .option(LORA_FLAG, LORA_HELP, collectLora)
    .action(async (given: EvalOptions) => {
      const o = { ...given, model: await resolveModel(given.model) };
      if (o.n !== undefined) return breakdown(o);
      // the PRM: its head (scripts/train-prm.mjs) names the scoring model its features were fitted on
      const prm = o.prm === undefined ? undefined : await loadPrm(o.prm);
      let configs: ReturnType<typeof sweepConfigs>;
      try {
        configs = sweepConfigs({ ...o, maxTokens: o.maxTokens }, { prm: prm?.verifier });
      } catch (e) {
        await prm?.scorer.close();
        throw e;
      }
      const items = loadTask(o.task, parsePositiveInt("--questions", o.questions), {
        set: parseTaskSet(o.set),
        kinds: o.kinds?.split(",").map((k) => k.trim()),
      });
      const parallel = Math.max(1, ...configs.map((c) => (c.strategy === "greedy" ? 1 : (c.samples ?? 8))));
      const llm = await loadLLM(o.model, { ...engineOptions(o), parallel });
      try {
        await runSweep(llm, items, configs, {
          json: o.json,
          plot: o.plot,
          write: (s) => process.stdout.write(s),
          progress: process.stderr.isTTY ? (s) => process.stderr.write(s) : undefined,
        });
        if (o.plot) process.stderr.write(`wrote ${o.plot}\n`);
      } finally {
        await llm.close();
        await prm?.scorer.close();
      }
    });
}

async function loadPrm(file: string): Promise<{ scorer: PrmScorer; verifier: PrmVerifier }> {
  const text = await readFile(file, "utf8").catch(() => {
    throw new InputError("cannot read the PRM head", { file });
  });
  const head = parsePrmHead(text, file);
  const scorer = await PrmScorer.load(head.model);
  return { scorer, verifier: new PrmVerifier(scorer, head) };
}

/** --n: the per-operation, per-digit-count greedy report. */
async function breakdown(o: EvalOptions & { model: string }): Promise<void> {
  if (o.task !== "arithmetic")
    throw new InputError(`--n supports --task arithmetic only, got '${o.task}'`, { field: "task" });
  const items = arithmeticTestItems(parsePositiveInt("--n", o.n!));
  const concurrency = 8;
  const llm = await loadLLM(o.model, { ...engineOptions(o), parallel: concurrency });
  try {
    const r = await evalArithmetic(llm, items, {
      maxTokens: o.maxTokens === undefined ? undefined : parsePositiveInt("--max-tokens", o.maxTokens),
      concurrency,
      onDone: process.stderr.isTTY ? (d, n) => process.stderr.write(`\r${d}/${n}`) : undefined,
    });
    if (process.stderr.isTTY) process.stderr.write("\n");
    if (o.json) {
      const { results, ...summary } = r;
      process.stdout.write(
        JSON.stringify({ model: o.model, task: o.task, ...summary, results }, null, 1) + "\n",
      );
    } else process.stdout.write(formatArithReport(r));
  } finally {
    await llm.close();
  }
}
