/**
 * `edgellm data --out <dir> [--seed N] [--train N] [--val N] [--test N]`: writes the seeded
 * synthetic SFT corpus as train.jsonl / val.jsonl / test.jsonl (one example per line, ChatML
 * messages plus key, kind, language, digits and answer) and prints a per-split summary.
 */
import type { Command } from "commander";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../errors.js";
import { DEFAULT_DATA_CONFIG, SPLITS, generateDataset, toJSONL } from "../train/data/generate.js";

function count(v: string, field: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InputError(`--${field} must be a non-negative integer, got '${v}'`, { field });
  return n;
}

export function register(program: Command): void {
  program
    .command("data")
    .description("generate the synthetic arithmetic/chat SFT corpus (seeded, splits disjoint by problem)")
    .requiredOption("-o, --out <dir>", "output directory")
    .option("--seed <n>", "generator seed", String(DEFAULT_DATA_CONFIG.seed))
    .option("--train <n>", "training examples", String(DEFAULT_DATA_CONFIG.counts.train))
    .option("--val <n>", "validation examples", String(DEFAULT_DATA_CONFIG.counts.val))
    .option("--test <n>", "test examples", String(DEFAULT_DATA_CONFIG.counts.test))
    .action(async (o: { out: string; seed: string; train: string; val: string; test: string }) => {
      const cfg = {
        ...DEFAULT_DATA_CONFIG,
        seed: count(o.seed, "seed"),
        counts: { train: count(o.train, "train"), val: count(o.val, "val"), test: count(o.test, "test") },
      };
      const t0 = performance.now();
      const d = generateDataset(cfg);
      await mkdir(o.out, { recursive: true });
      for (const s of SPLITS) {
        const path = join(o.out, `${s}.jsonl`);
        await writeFile(path, toJSONL(d[s]));
        const langs = d[s].filter((e) => e.lang === "zh").length;
        process.stdout.write(`${path}: ${d[s].length} examples (${d[s].length - langs} en, ${langs} zh)\n`);
      }
      process.stdout.write(
        `generated in ${((performance.now() - t0) / 1000).toFixed(1)} s (seed ${cfg.seed})\n`,
      );
    });
}
