/**
 * `edgellm testmodel <out.gguf> [--preset tiny|850m] [--arch llama] [--type q4_0] [--seed N]`:
 * write a random-weight GGUF of a real shape with the test-model factory. Used for tests,
 * benchmarks against llama.cpp, and trying the tools before a real model is at hand.
 * `--lora-rank R` writes instead a random LoRA adapter (llama.cpp's format, A/B of type --type) on
 * every attention and FFN projection of that shape, for adapter benchmarks.
 */
import type { Command } from "commander";
import { InputError } from "../errors.js";
import { ggmlTypeFromName } from "../gguf/types.js";
import { FACTORY_ARCHS, writeTestModel, type TestModelSpec } from "../model/factory/index.js";
import { formatBytes } from "./format.js";
import { writeTestAdapter } from "../model/factory/lora.js";
import { stat } from "node:fs/promises";

/** Named shapes. 850m is a Llama-2/TinyLlama-like shape of ~0.84B parameters (32k vocabulary). */
export const TEST_MODEL_PRESETS: Record<string, Omit<TestModelSpec, "arch">> = {
  tiny: { nEmbd: 256, nLayer: 4, nHead: 8, nHeadKv: 2, nFf: 768, nCtx: 1024 },
  "110m": { nEmbd: 768, nLayer: 12, nHead: 12, nHeadKv: 12, nFf: 2048, nCtx: 2048, nVocab: 32000 },
  "850m": { nEmbd: 2048, nLayer: 16, nHead: 32, nHeadKv: 4, nFf: 5632, nCtx: 4096, nVocab: 32000 },
};

export function register(program: Command): void {
  program
    .command("testmodel")
    .description("write a random-weight GGUF test model of a real shape")
    .argument("<out>", "output GGUF file")
    .option("--preset <name>", `shape: ${Object.keys(TEST_MODEL_PRESETS).join(", ")}`, "tiny")
    .option("--arch <arch>", "architecture", "llama")
    .option("-t, --type <type>", "type of the weight matrices (f32, f16, q8_0, q4_0, q4_k, q6_k...)", "f32")
    .option("--seed <n>", "PRNG seed", "1")
    .option("--lora-rank <r>", "write a random rank-r LoRA adapter for this shape instead of a model")
    .action(
      async (
        out: string,
        opts: { preset: string; arch: string; type: string; seed: string; loraRank?: string },
      ) => {
        const shape = TEST_MODEL_PRESETS[opts.preset];
        if (!shape)
          throw new InputError(`unknown preset '${opts.preset}'`, {
            hint: Object.keys(TEST_MODEL_PRESETS).join(", "),
          });
        if (!FACTORY_ARCHS.has(opts.arch)) {
          throw new InputError(`the factory cannot build architecture '${opts.arch}'`, {
            hint: [...FACTORY_ARCHS.keys()].join(", "),
          });
        }
        const type = ggmlTypeFromName(opts.type);
        if (type === undefined) throw new InputError(`unknown type '${opts.type}'`);
        const seed = Number(opts.seed);
        if (!Number.isInteger(seed)) throw new InputError(`--seed must be an integer, got '${opts.seed}'`);
        const t0 = performance.now();
        const spec: TestModelSpec = {
          arch: opts.arch,
          ...shape,
          seed,
          name: `edgellm-test-${opts.preset}`,
          types: { weights: type },
        };
        // The family's own sections (experts, MLA ranks, sliding windows) for a shape-only preset.
        const full = { ...FACTORY_ARCHS.get(opts.arch)!.shapeDefaults?.(spec), ...spec };
        if (opts.loraRank !== undefined) {
          const rank = Number(opts.loraRank);
          if (!Number.isInteger(rank) || rank < 1)
            throw new InputError(`--lora-rank must be a positive integer, got '${opts.loraRank}'`);
          await writeTestAdapter(out, full, { rank, type, seed });
        } else await writeTestModel(out, full);
        const size = (await stat(out)).size;
        process.stdout.write(
          `wrote ${out}: ${opts.arch} ${opts.preset}${opts.loraRank ? ` LoRA rank ${opts.loraRank}` : ""} ${opts.type.toUpperCase()}, ${formatBytes(size)} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
        );
      },
    );
}
