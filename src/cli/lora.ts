/**
 * `edgellm lora merge <base.gguf> <adapter.gguf> <out.gguf> [--scale s] [--type t]`: write a model
 * with the adapter merged into its weights (model/lora-merge.ts). Adapters are otherwise applied at
 * run time without merging: `--lora file[:scale]` on run, chat and serve.
 */
import type { Command } from "commander";
import { InputError } from "../errors.js";
import { ggmlTypeFromName } from "../gguf/types.js";
import { mergeLora } from "../model/lora-merge.js";

export function register(program: Command): void {
  const lora = program.command("lora").description("LoRA adapter tools");
  lora
    .command("merge")
    .description("merge a LoRA adapter into its base model (W + scale * alpha/rank * B A)")
    .argument("<base>", "base model GGUF")
    .argument("<adapter>", "LoRA adapter GGUF (llama.cpp format)")
    .argument("<out>", "output GGUF")
    .option("--scale <s>", "adapter scale", "1")
    .option("-t, --type <type>", "type of the merged matrices (default: each base matrix's type)")
    .action(
      async (basePath: string, adapterPath: string, outPath: string, o: { scale: string; type?: string }) => {
        const scale = Number(o.scale);
        if (!Number.isFinite(scale)) throw new InputError(`--scale must be a number, got '${o.scale}'`);
        const type = o.type === undefined ? undefined : ggmlTypeFromName(o.type);
        if (o.type !== undefined && type === undefined)
          throw new InputError(`unknown type '${o.type}'`, { hint: "try f32, f16, q8_0 or q4_0" });
        const t0 = performance.now();
        const r = await mergeLora(basePath, adapterPath, outPath, { scale, type });
        process.stdout.write(
          `wrote ${outPath}: ${r.merged} matrices merged, ${r.copied} tensors copied in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
        );
      },
    );
}
