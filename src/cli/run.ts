/**
 * `edgellm run [-m <file>] "<message>"`: one chat turn — the message is rendered with the model's
 * chat template, answered greedily (reasoning included) and followed by a speed summary.
 * `edgellm run -m <file> -p "<text>" -n <tokens> --temp 0`: raw greedy continuation of the text
 * (no template; what the llama.cpp conformance tests compare), with prefill and decode tokens/s
 * measured around the forward calls. Without -m, the embedded default model is used.
 */
import {
  EXPERTS_FLAG,
  EXPERTS_HELP,
  MAX_MEMORY_FLAG,
  MAX_MEMORY_HELP,
  WEIGHTS_FLAG,
  WEIGHTS_HELP,
  STREAM_CACHE_FLAG,
  STREAM_CACHE_HELP,
} from "./memory-options.js";
import type { Command } from "commander";
import { parseKVType } from "../kv/quant-kv.js";
import { InputError } from "../errors.js";
import { makeKernels, openModel, promptTokens } from "./prompt-input.js";
import { engineOptions, parsePositiveInt, type EngineCliOptions } from "./engine-options.js";
import {
  collectImages,
  encodeImageFiles,
  IMAGE_FLAG,
  IMAGE_HELP,
  loadVision,
  MMPROJ_FLAG,
  MMPROJ_HELP,
} from "./image-options.js";
import { resolveModelAndMmproj } from "./default-model.js";
import { loadLLM, MEDIA_MARKER, type GenerationChunk, type LoadLLMOptions } from "../engine/llm.js";
import {
  KV_BUDGET_FLAG,
  KV_BUDGET_HELP,
  KV_EVICT_FLAG,
  KV_EVICT_HELP,
  KV_ROTATE_HELP,
} from "./kv-options.js";
import {
  addSpeculativeOptions,
  speculativeReport,
  type SpeculativeCliOptions,
} from "./speculative-options.js";
import { loadLoraAdapter, type LoraRef } from "../model/index.js";
import { collectLora, LORA_FLAG, LORA_HELP } from "./lora-options.js";
import { kernelsLabel } from "../kernels/kernel-set.js";
import {
  addReasoningOptions,
  runReasoningCli,
  wantsReasoning,
  type ReasoningCliOptions,
} from "./reasoning-options.js";

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
}

export function register(program: Command): void {
  // --strategy/--samples/--thinking-budget (src/reasoning); --draft/--draft-max/--lookup
  addSpeculativeOptions(addReasoningOptions(program.command("run")))
    .description("answer one chat message (or continue raw text with -p) greedily and report speed")
    .argument("[message]", "a chat message, rendered with the model's chat template")
    .option(
      "-m, --model <file|url>",
      "GGUF model, a path or an http(s) URL (pulled into the model cache; default: the embedded models/edgellm-default-q8_0.gguf)",
    )
    .option("-p, --prompt <text>", "prompt text")
    .option("--tokens <ids>", "comma-separated token ids instead of a prompt")
    .option(
      "-n, --n-predict <n>",
      "tokens to generate (default: 32 with -p; for a chat message, the room left in the context)",
    )
    .option("--temp <t>", "temperature (only 0, greedy, is supported here)", "0")
    .option("--kv <type>", "KV cache type: f32, f16, q8_0 or q4_0", "f32")
    .option("--no-kv-rotate", KV_ROTATE_HELP)
    .option(KV_EVICT_FLAG, KV_EVICT_HELP)
    .option(KV_BUDGET_FLAG, KV_BUDGET_HELP)
    .option(
      "--kernels <kind>",
      "matrix kernels: wasm (SIMD, threaded) or ts (plain TypeScript reference)",
      "wasm",
    )
    .option("--threads <n>", "threads for the WASM kernels (default: all cores)")
    .option(MAX_MEMORY_FLAG, MAX_MEMORY_HELP)
    .option(EXPERTS_FLAG, EXPERTS_HELP)
    .option(WEIGHTS_FLAG, WEIGHTS_HELP)
    .option(STREAM_CACHE_FLAG, STREAM_CACHE_HELP)
    .option("--ignore-eos", "keep generating past the end-of-sequence token")
    .option(LORA_FLAG, LORA_HELP, collectLora)
    .option(MMPROJ_FLAG, MMPROJ_HELP)
    .option(IMAGE_FLAG, IMAGE_HELP, collectImages)
    .action(
      async (
        message: string | undefined,
        given: {
          model?: string;
          prompt?: string;
          tokens?: string;
          nPredict?: string;
          temp: string;
          kv: string;
          kvRotate?: boolean;
          ignoreEos?: boolean;
          kernels: string;
          threads?: string;
          maxMemory?: string;
          experts?: string;
          weights?: string;
          streamCache?: string;
          lora?: string[];
          mmproj?: string;
          image?: string[];
        } & ReasoningCliOptions &
          SpeculativeCliOptions,
      ) => {
        const opts = { ...given, ...(await resolveModelAndMmproj(given.model, given.mmproj, given.image)) };
        if (message !== undefined && (opts.prompt !== undefined || opts.tokens !== undefined))
          throw new InputError("give either a chat message or -p/--tokens, not both");
        if (opts.image?.length) {
          if (!opts.mmproj) throw new InputError("--image needs --mmproj <file> (the vision encoder)");
          if (message === undefined) throw new InputError("--image needs a chat message (the question)");
          if (wantsReasoning(opts)) throw new InputError("--image cannot be combined with reasoning options");
        }
        // one set of engine options for both engine paths (flags checked before any model is read)
        const engine = engineOptions(runEngineFlags(opts));
        if (wantsReasoning(opts))
          return runReasoningCli(
            { ...opts, prompt: opts.prompt ?? message, nPredict: opts.nPredict ?? "512" },
            engine,
          );
        if (message !== undefined) return chatTurn(message, opts, engine);
        if (engine.speculative || engine.eviction) {
          // Speculation and eviction run in the engine: the raw prompt goes through it (greedy).
          if (Number(opts.temp) !== 0)
            throw new InputError(
              `--temp ${opts.temp}: only greedy decoding (--temp 0) is available in 'run'`,
            );
          return chatTurn(undefined, { ...opts, nPredict: opts.nPredict ?? "32" }, engine);
        }
        if (Number(opts.temp) !== 0)
          throw new InputError(`--temp ${opts.temp}: only greedy decoding (--temp 0) is available in 'run'`);
        const n = parsePositiveInt("--n-predict", opts.nPredict ?? "32");
        const ks = await makeKernels(opts.kernels, opts.threads);
        try {
          const { model, tokenizer, loadMs } = await openModel(opts.model, opts.tokens === undefined, ks, {
            maxMemory: engine.maxMemory,
            ...(engine.experts ? { experts: engine.experts } : {}),
            ...(engine.weights ? { weights: engine.weights } : {}),
            ...(engine.streamCache ? { streamCache: engine.streamCache } : {}),
          });
          const ids = promptTokens(opts, tokenizer);
          const lora: LoraRef[] = [];
          for (const s of engine.lora ?? [])
            lora.push({ adapter: await loadLoraAdapter(s.path as string, model), scale: s.scale ?? 1 });
          const cache = model.newCache(ids.length + n, parseKVType(opts.kv ?? "f32", "--kv"), undefined, {
            rotate: opts.kvRotate,
          });
          const t0 = performance.now();
          let logits = model.forward(ids, cache, undefined, { lora })[0];
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
            if (i + 1 < n) logits = model.forward([next], cache, undefined, { reuseLogits: true, lora })[0];
          }
          const tDecode = performance.now() - t1;
          const nDecode = Math.max(1, out.length - 1);
          process.stdout.write("\n");
          process.stderr.write(
            `load ${loadMs.toFixed(0)} ms | prefill ${ids.length} tok in ${tPrefill.toFixed(0)} ms (${((ids.length * 1000) / tPrefill).toFixed(2)} tok/s)` +
              ` | decode ${out.length} tok in ${tDecode.toFixed(0)} ms (${((nDecode * 1000) / Math.max(tDecode, 1e-3)).toFixed(2)} tok/s)` +
              ` | KV ${cache.bytesPerToken()} B/token | kernels: ${kernelsLabel(ks)}\n`,
          );
        } finally {
          await ks?.dispose();
        }
      },
    );
}

/** run's engine flags: --kv names the K and V cache type (the other commands' --kv-type). */
function runEngineFlags(o: EngineCliOptions & { kv?: string }): EngineCliOptions {
  return { ...o, kvType: o.kv };
}

/** One greedy chat turn through the engine (chat template, stop tokens), streamed, then speed. */
async function chatTurn(
  /** undefined: continue -p text / --tokens ids raw (no chat template). */
  message: string | undefined,
  o: {
    prompt?: string;
    tokens?: string;
    ignoreEos?: boolean;
    model: string;
    /** undefined: until the end of the turn or of the context */
    nPredict?: string;
    mmproj?: string;
    image?: string[];
  },
  engine: LoadLLMOptions,
): Promise<void> {
  const t0 = performance.now();
  const llm = await loadLLM(o.model, { ...engine, parallel: 1 });
  try {
    const vm = o.mmproj ? await loadVision(o.mmproj, llm) : undefined;
    const loadMs = performance.now() - t0;
    const maxTokens = o.nPredict === undefined ? undefined : parsePositiveInt("--n-predict", o.nPredict);
    let tEncode = 0;
    let stream: AsyncGenerator<GenerationChunk>;
    if (vm && o.image?.length) {
      // The images first, then the question (one user turn), as llama.cpp's mtmd CLI does.
      const te = performance.now();
      const media = await encodeImageFiles(o.image, vm);
      tEncode = performance.now() - te;
      const content = MEDIA_MARKER.repeat(media.length) + message;
      const p = llm.encodeChatMedia([{ role: "user", content }], media);
      stream = llm.generate(p.tokens, { media: p.media, maxTokens, temperature: 0 });
    } else if (message === undefined) {
      const ids = promptTokens(o, llm.tokenizer);
      stream = llm.generate(ids, { maxTokens, temperature: 0, ignoreEos: o.ignoreEos });
    } else stream = llm.createSession().send(message, { maxTokens, temperature: 0 });
    const s0 = llm.stats();
    const t1 = performance.now();
    let tFirst = 0;
    let n = 0;
    let evicted = "";
    for await (const c of stream) {
      if (c.type === "token" && n++ === 0) tFirst = performance.now();
      if (c.type === "done" && c.droppedTokens && llm.eviction)
        evicted = ` | KV eviction ${llm.eviction.name} (budget ${llm.eviction.budget}): ${c.droppedTokens} tokens dropped in ${c.contextShifts} evictions`;
      process.stdout.write(c.text);
    }
    const t2 = performance.now();
    process.stdout.write("\n");
    const tps = n > 1 ? ((n - 1) * 1000) / (t2 - tFirst) : 0;
    process.stderr.write(
      `${llm.name}: load ${loadMs.toFixed(0)} ms${tEncode ? ` | image encode ${tEncode.toFixed(0)} ms` : ""} | TTFT ${(tFirst ? tFirst - t1 : 0).toFixed(0)} ms | ${n} tok | ${tps.toFixed(1)} tok/s${speculativeReport(s0, llm.stats())}${evicted} | kernels: ${kernelsLabel(llm.kernels)}\n`,
    );
  } finally {
    await llm.close();
  }
}
