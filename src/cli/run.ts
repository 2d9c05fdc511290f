/**
 * `edgellm run -m <file> -p "<text>" -n <tokens> --temp 0`: greedy generation (temperature 0;
 * sampling belongs to src/sampling), streaming text, then a speed summary: prefill and decode
 * tokens/s measured around the forward calls.
 */
import type { Command } from "commander";
import { InputError } from "../errors.js";
import { makeKernels, openModel, parsePositiveInt, promptTokens } from "./prompt-input.js";
import { addReasoningOptions, runReasoningCli, wantsReasoning, type ReasoningCliOptions } from "../reasoning/cli-options.js";

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
}

export function register(program: Command): void {
  addReasoningOptions(program.command("run")) // --strategy/--samples/--thinking-budget (src/reasoning)
    .description("generate greedily from a prompt and report speed")
    .requiredOption("-m, --model <file>", "GGUF model")
    .option("-p, --prompt <text>", "prompt text")
    .option("--tokens <ids>", "comma-separated token ids instead of a prompt")
    .option("-n, --n-predict <n>", "tokens to generate", "32")
    .option("--temp <t>", "temperature (only 0, greedy, is supported here)", "0")
    .option("--kv <type>", "KV cache type: f32 or f16", "f32")
    .option(
      "--kernels <kind>",
      "matrix kernels: wasm (SIMD, threaded) or ts (plain TypeScript reference)",
      "wasm",
    )
    .option("--threads <n>", "threads for the WASM kernels (default: all cores)")
    .option("--ignore-eos", "keep generating past the end-of-sequence token")
    .action(
      async (opts: {
        model: string;
        prompt?: string;
        tokens?: string;
        nPredict: string;
        temp: string;
        kv: string;
        ignoreEos?: boolean;
        kernels: string;
        threads?: string;
      } & ReasoningCliOptions) => {
        if (wantsReasoning(opts)) return runReasoningCli(opts);
        if (Number(opts.temp) !== 0)
          throw new InputError(`--temp ${opts.temp}: only greedy decoding (--temp 0) is available in 'run'`);
        const n = parsePositiveInt("--n-predict", opts.nPredict);
        const ks = await makeKernels(opts.kernels, opts.threads);
        try {
          const { model, tokenizer, loadMs } = await openModel(opts.model, opts.tokens === undefined, ks);
          const ids = promptTokens(opts, tokenizer);
          const cache = model.newCache(ids.length + n, opts.kv === "f16" ? "f16" : "f32");
          const t0 = performance.now();
          let logits = model.forward(ids, cache)[0];
          const tPrefill = performance.now() - t0;
          const out: number[] = [];
          let printed = "";
          const t1 = performance.now();
          for (let i = 0; i < n; i++) {
            const next = argmax(logits);
            out.push(next);
            if (tokenizer) {
              // Print the text delta (decoding the whole continuation keeps multi-byte pieces intact).
              const text = tokenizer.decode(out);
              if (text.startsWith(printed)) process.stdout.write(text.slice(printed.length));
              printed = text;
            } else {
              process.stdout.write(`${next} `);
            }
            if (!opts.ignoreEos && tokenizer && next === tokenizer.eos) break;
            if (i + 1 < n) logits = model.forward([next], cache)[0];
          }
          const tDecode = performance.now() - t1;
          const nDecode = Math.max(1, out.length - 1);
          process.stdout.write("\n");
          process.stderr.write(
            `load ${loadMs.toFixed(0)} ms | prefill ${ids.length} tok in ${tPrefill.toFixed(0)} ms (${((ids.length * 1000) / tPrefill).toFixed(2)} tok/s)` +
              ` | decode ${out.length} tok in ${tDecode.toFixed(0)} ms (${((nDecode * 1000) / Math.max(tDecode, 1e-3)).toFixed(2)} tok/s)` +
              ` | KV ${cache.bytesPerToken()} B/token | kernels ${ks ? `${ks.name} x${ks.threads}` : "ts"}\n`,
          );
        } finally {
          await ks?.dispose();
        }
      },
    );
}
