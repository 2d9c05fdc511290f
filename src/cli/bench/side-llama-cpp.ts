/**
 * The llama.cpp side of `edgellm bench`, through node-llama-cpp's prebuilt CPU binary (an optional
 * dependency, imported dynamically). Fairest APIs for each phase (see workload.ts):
 *   pp      sequence.evaluateWithoutGeneratingNewTokens(prompt) with batchSize >= prompt
 *   ttft    sequence.evaluate(prompt, {temperature: 0}) until its first token
 *   decode  the same generator's next gen - 1 tokens
 * Threads are pinned (maxThreads and the context's ideal = min = threads). KV cache F16 (default).
 */
import { InputError } from "../../errors.js";
import { parseLoraFlag } from "../lora-options.js";
import { peakRss, promptIds, type SideResult, type Workload } from "./workload.js";

type NodeLlamaCpp = typeof import("node-llama-cpp");

/** EDGELLM_REF_LLAMA=avx2: the copy of node-llama-cpp with only the AVX2 (haswell) CPU backend
 *  that `node scripts/setup-llama-avx2.mjs` makes (what a machine without AVX-512 runs). */
const AVX2_COPY = new URL(
  "../../../../build/llama-avx2/node_modules/node-llama-cpp/dist/index.js",
  import.meta.url,
);

export async function importNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  const which = process.env.EDGELLM_REF_LLAMA;
  if (which === "avx2") {
    try {
      return (await import(AVX2_COPY.href)) as NodeLlamaCpp;
    } catch (e) {
      throw new InputError(
        `EDGELLM_REF_LLAMA=avx2: cannot load ${AVX2_COPY.pathname} (${(e as Error).message.split("\n")[0]})`,
        {
          hint: "run node scripts/setup-llama-avx2.mjs first",
        },
      );
    }
  }
  try {
    return await import("node-llama-cpp");
  } catch (e) {
    throw new InputError(
      `--vs-llama-cpp needs the optional package node-llama-cpp, which could not be loaded (${(e as Error).message.split("\n")[0]})`,
      {
        hint: "npm install node-llama-cpp (its prebuilt CPU binary is enough), or run without --vs-llama-cpp",
      },
    );
  }
}

export async function runLlamaCpp(w: Workload): Promise<SideResult> {
  const { getLlama, LlamaLogLevel } = await importNodeLlamaCpp();
  let backend = "";
  const llama = await getLlama({
    gpu: false,
    build: "never",
    maxThreads: w.threads,
    logLevel: LlamaLogLevel.debug,
    logger: (level, text) => {
      // which CPU backend ggml picked (e.g. libggml-cpu-zen4.so): part of the conditions
      const m = /loaded CPU backend from .*\/libggml-cpu-([^/\s]+)\.so/.exec(text);
      if (m) backend = m[1]!;
      else if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) console.error(text);
    },
  });
  try {
    const t0 = performance.now();
    const model = await llama.loadModel({ modelPath: w.model });
    const ctx = await model.createContext({
      contextSize: w.prompt + w.gen + 16,
      batchSize: Math.max(w.prompt, 8),
      threads: { ideal: w.threads, min: w.threads },
      ...(w.kvType ? { experimentalKvCacheKeyType: w.kvType.toUpperCase() as "F16" } : {}),
      ...(w.kvTypeV || w.kvType
        ? { experimentalKvCacheValueType: (w.kvTypeV ?? w.kvType)!.toUpperCase() as "F16" }
        : {}),
      ...(w.lora?.length
        ? {
            lora: {
              adapters: w.lora
                .map(parseLoraFlag)
                .map((s) => ({ filePath: s.path as string, scale: s.scale ?? 1 })),
            },
          }
        : {}),
    });
    const loadMs = performance.now() - t0;
    const rssLoaded = process.memoryUsage().rss;
    const seq = ctx.getSequence();
    const prompt = promptIds(w.prompt, w.nVocab) as unknown as import("node-llama-cpp").Token[];

    // Warm-up.
    const warm = seq.evaluate(prompt.slice(0, 8), { temperature: 0 });
    for (let i = 0; i < 3; i++) await warm.next();
    await warm.return();
    await seq.clearHistory();

    // Prompt processing: one batch, no sampling.
    let t = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
    const ppMs = performance.now() - t;
    await seq.clearHistory();

    // TTFT then decode.
    t = performance.now();
    const gen = seq.evaluate(prompt, { temperature: 0 });
    const first = await gen.next();
    const ttftMs = performance.now() - t;
    const tokens: number[] = [Number(first.value)];
    t = performance.now();
    for (let i = 1; i < w.gen; i++) {
      const r = await gen.next();
      if (r.done) break;
      tokens.push(Number(r.value));
    }
    const decMs = performance.now() - t;
    await gen.return();
    const res: SideResult = {
      side: "llama.cpp",
      loadMs,
      ppTokS: (w.prompt * 1000) / ppMs,
      ttftMs,
      decodeTokS: tokens.length > 1 ? ((tokens.length - 1) * 1000) / decMs : 0,
      rssLoaded,
      rssPeak: peakRss(),
      tokens,
      config: `llama.cpp CPU${backend ? ` (${backend} backend)` : ""} x${w.threads}, batch ${Math.max(w.prompt, 8)}, flash attention ${ctx.flashAttention ? "on" : "off"}, KV ${w.kvType ?? "f16"}/${w.kvTypeV ?? w.kvType ?? "f16"} (K/V)${process.env.LLAMA_ATTN_ROT_DISABLE === "1" ? ", unrotated" : ""}`,
    };
    await ctx.dispose();
    await model.dispose();
    return res;
  } finally {
    await llama.dispose();
  }
}
