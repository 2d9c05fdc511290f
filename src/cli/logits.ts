/**
 * `edgellm logits -m <file> -p "<text>" [--top 20] [--json]`: the prompt's token ids and the
 * last-position logits (top N, or all with --top 0), for inspection and conformance checks.
 */
import type { Command } from "commander";
import { parseKVType } from "../kv/quant-kv.js";
import { resolveModel } from "./default-model.js";
import { KV_ROTATE_HELP } from "./kv-options.js";
import { makeKernels, openModel, promptTokens } from "./prompt-input.js";
import { parsePositiveInt } from "./engine-options.js";

export function register(program: Command): void {
  program
    .command("logits")
    .description("print the prompt's token ids and the last-position logits")
    .requiredOption(
      "-m, --model <file|url>",
      "GGUF model, a path or an http(s) URL (pulled into the model cache)",
    )
    .option("-p, --prompt <text>", "prompt text (tokenized with the model's vocabulary)")
    .option("--tokens <ids>", "comma-separated token ids instead of a prompt")
    .option("--top <n>", "how many of the largest logits to print (0 = all)", "20")
    .option("--kv <type>", "KV cache type: f32, f16, q8_0 or q4_0", "f32")
    .option("--no-kv-rotate", KV_ROTATE_HELP)
    .option(
      "--kernels <kind>",
      "matrix kernels: wasm (SIMD, threaded) or ts (plain TypeScript reference)",
      "wasm",
    )
    .option("--threads <n>", "threads for the WASM kernels (default: all cores)")
    .option("--json", "JSON output")
    .action(
      async (opts: {
        model: string;
        prompt?: string;
        tokens?: string;
        top: string;
        kv: string;
        kvRotate?: boolean;
        json?: boolean;
        kernels: string;
        threads?: string;
      }) => {
        const top = opts.top === "0" ? 0 : parsePositiveInt("--top", opts.top);
        opts.model = await resolveModel(opts.model);
        const ks = await makeKernels(opts.kernels, opts.threads);
        try {
          const { model, tokenizer } = await openModel(opts.model, opts.tokens === undefined, ks);
          const ids = promptTokens(opts, tokenizer);
          const kv = parseKVType(opts.kv, "--kv");
          const t0 = performance.now();
          const logits = model.forward(
            ids,
            model.newCache(ids.length, kv, undefined, { rotate: opts.kvRotate }),
          )[0];
          const ms = performance.now() - t0;
          const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
          const chosen = top === 0 ? order : order.slice(0, top);
          const piece = (id: number) => tokenizer?.decode([id], { special: true });
          if (opts.json) {
            const out = {
              tokens: ids,
              nVocab: logits.length,
              top: chosen.map((id) => ({ id, logit: logits[id], piece: piece(id) })),
              ...(top === 0 ? { logits: Array.from(logits) } : {}),
              ms,
            };
            process.stdout.write(JSON.stringify(out) + "\n");
            return;
          }
          process.stdout.write(`tokens (${ids.length}): ${ids.join(",")}\n`);
          for (const id of chosen)
            process.stdout.write(
              `${String(id).padStart(7)} ${logits[id].toFixed(6).padStart(12)}  ${JSON.stringify(piece(id) ?? "")}\n`,
            );
          process.stdout.write(`forward: ${ms.toFixed(1)} ms\n`);
        } finally {
          await ks?.dispose();
        }
      },
    );
}
