/**
 * `edgellm train [--preset default] [--out models] [--work DIR] [--steps N] [--resume]
 *  [--threads 1|2] [--no-progress]`: runs the training recipe of a preset end to end (data ->
 * BPE -> SFT on the WASM kernels -> GGUF F32 + Q8_0) with a progress bar (step, loss, tok/s,
 * ETA) and checkpoints in the work directory; --resume continues an interrupted run exactly.
 */
import type { Command } from "commander";
import { InputError } from "../errors.js";
import { runPipeline } from "../train/pipeline.js";
import { runLoraTraining } from "../train/lora-run.js";
import { unitsDemoExamples } from "../train/lora-demo.js";
import { loadLLM } from "../engine/llm.js";
import { presetByName, PRESETS } from "../train/presets.js";

function positiveInt(v: string, field: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new InputError(`--${field} must be a positive integer, got '${v}'`, { field });
  return n;
}

export function register(program: Command): void {
  program
    .command("train")
    .description("train a model from the synthetic corpus and export it as GGUF (F32 and Q8_0)")
    .option("-p, --preset <name>", `training recipe (${Object.keys(PRESETS).join(", ")})`, "default")
    .option("-o, --out <dir>", "where the GGUF files go", "models")
    .option("--work <dir>", "checkpoint and tokenizer directory (default build/train/<preset>)")
    .option("--steps <n>", "optimisation steps (default: the preset's)")
    .option("--stop-at <n>", "stop after step n (checkpoint + export); the schedule still spans --steps")
    .option("--resume", "continue from the checkpoint in the work directory")
    .option("--threads <n>", "threads (1 or 2); results do not depend on it", "2")
    .option("--no-progress", "no progress bar")
    .option("--lora", "train a LoRA adapter for --base on --data instead of a model (base frozen)")
    .option("--base <file>", "--lora: the base llama GGUF (F32, or Q8_0/Q4_0 dequantized)")
    .option("--data <file>", '--lora: JSONL of {"messages": [...]} (loss on assistant turns)')
    .option("--adapter <file>", "--lora: output adapter GGUF", "adapter.gguf")
    .option("--demo <skill>", "--lora: train on a built-in demonstration set instead of --data (units)")
    .option("--rank <n>", "--lora: rank", "16")
    .option("--alpha <n>", "--lora: alpha (scale alpha/rank)", "32")
    .option(
      "--targets <list>",
      "--lora: comma-separated kinds (attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down)",
    )
    .option("--batch <n>", "--lora: sequences per step", "4")
    .option("--seq-len <n>", "--lora: tokens per sequence", "128")
    .option("--lr <x>", "--lora: peak learning rate", "1e-3")
    .option("--seed <n>", "--lora: seed", "1")
    .action(
      async (o: {
        lora?: boolean;
        demo?: string;
        base?: string;
        data?: string;
        adapter: string;
        rank: string;
        alpha: string;
        targets?: string;
        batch: string;
        seqLen: string;
        lr: string;
        seed: string;
        preset: string;
        out: string;
        work?: string;
        steps?: string;
        stopAt?: string;
        resume?: boolean;
        threads: string;
        progress: boolean;
      }) => {
        if (o.lora) {
          if (o.demo !== undefined && o.demo !== "units")
            throw new InputError(`--demo: only 'units' exists, got '${o.demo}'`);
          // The demo mixes in the base's own greedy answers to arithmetic questions (train/lora-demo.ts),
          // or the adapter forgets arithmetic (measured: 90% -> 0% after 300 steps on conversions alone).
          let data: string | Awaited<ReturnType<typeof unitsDemoExamples>> | undefined = o.data;
          if (o.demo) {
            if (!o.base) throw new InputError("--demo needs --base <model.gguf>");
            const llm = await loadLLM(o.base, {
              kernels: "wasm",
              threads: positiveInt(o.threads, "threads"),
            });
            try {
              data = await unitsDemoExamples(llm);
            } finally {
              await llm.close();
            }
          }
          if (!o.base || !data)
            throw new InputError(
              "--lora needs --base <model.gguf> and --data <examples.jsonl> (or --demo units)",
            );
          const lr = Number(o.lr);
          if (!(lr > 0 && Number.isFinite(lr)))
            throw new InputError(`--lr must be a positive number, got '${o.lr}'`);
          const alpha = Number(o.alpha);
          if (!Number.isFinite(alpha) || alpha === 0)
            throw new InputError(`--alpha must be a non-zero number, got '${o.alpha}'`);
          const r = await runLoraTraining({
            base: o.base,
            data,
            out: o.adapter,
            work: o.work,
            rank: positiveInt(o.rank, "rank"),
            alpha,
            targets: o.targets?.split(",").map((t) => t.trim()),
            steps: o.steps === undefined ? 200 : positiveInt(o.steps, "steps"),
            stopAt: o.stopAt === undefined ? undefined : positiveInt(o.stopAt, "stop-at"),
            batch: positiveInt(o.batch, "batch"),
            seqLen: positiveInt(o.seqLen, "seq-len"),
            lr,
            seed: positiveInt(o.seed, "seed"),
            resume: o.resume ?? false,
            progress: o.progress && process.stderr.isTTY !== false,
          });
          process.stdout.write(
            `LoRA ${r.adapterParams} params, ${r.steps} steps, loss ${r.firstLoss.toFixed(4)} -> ${r.finalLoss.toFixed(4)}, ${r.seconds.toFixed(0)} s at ${Math.round(r.tokensPerSec)} tok/s\nwrote ${r.out}\n`,
          );
          return;
        }
        const preset = presetByName(o.preset);
        const log = (s: string) => process.stderr.write(`${s}\n`);
        const s = await runPipeline({
          preset,
          outDir: o.out,
          workDir: o.work ?? `build/train/${preset.name}`,
          steps: o.steps === undefined ? undefined : positiveInt(o.steps, "steps"),
          stopAt: o.stopAt === undefined ? undefined : positiveInt(o.stopAt, "stop-at"),
          resume: o.resume ?? false,
          threads: positiveInt(o.threads, "threads"),
          progress: o.progress && process.stderr.isTTY !== false,
          log,
        });
        const lines = [
          `params ${s.params}, ${s.steps} steps of ${s.batch}x${s.seqLen} tokens (${s.trainTokens} tokens)`,
          `training ${s.trainSeconds.toFixed(0)} s at ${Math.round(s.tokensPerSec)} tok/s on ${s.threads} thread(s); total ${s.totalSeconds.toFixed(0)} s`,
          `final train loss ${s.finalTrainLoss.toFixed(4)}, validation loss ${s.valLoss.toFixed(4)}`,
          ...s.files.map((f) => `wrote ${f}`),
        ];
        process.stdout.write(lines.join("\n") + "\n");
      },
    );
}
