/**
 * llama.cpp as the reference (node-llama-cpp's prebuilt CPU build): last-position logits for a
 * token sequence and a greedy continuation, with the raw logits of every greedy step (to tell a
 * real divergence from a near-tie). Flash attention off; KV cache F32 unless asked otherwise.
 *
 * Which llama.cpp: ggml picks the best CPU backend library for the machine (zen4 / skylakex /
 * icelake... with AVX-512, haswell with AVX2), and their float orders differ. EDGELLM_REF_LLAMA=avx2
 * selects a copy of the package whose only CPU backend is the AVX2 (haswell) one
 * (`node scripts/setup-llama-avx2.mjs` makes it under build/llama-avx2), so both orders can be
 * checked on one machine. `referenceBackend()` names the library that was loaded.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import type { Llama, Token } from "node-llama-cpp";

/** Repository root (this file runs from dist/test/conformance). */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const AVX2_COPY = join(ROOT, "build/llama-avx2/node_modules/node-llama-cpp/dist/index.js");

let shared: Promise<Llama> | undefined;
let backend = "unknown";

/** The CPU backend library llama.cpp loaded (e.g. "libggml-cpu-zen4.so"), once referenceLlama() resolved. */
export function referenceBackend(): string {
  return backend;
}

export function referenceLlama(): Promise<Llama> {
  shared ??= (async () => {
    const which = process.env.EDGELLM_REF_LLAMA ?? "default";
    let mod: typeof import("node-llama-cpp");
    if (which === "avx2") {
      if (!existsSync(AVX2_COPY))
        throw new Error(`EDGELLM_REF_LLAMA=avx2 needs ${AVX2_COPY}: run node scripts/setup-llama-avx2.mjs`);
      mod = (await import(pathToFileURL(AVX2_COPY).href)) as typeof import("node-llama-cpp");
    } else if (which === "default") {
      mod = await import("node-llama-cpp");
    } else {
      throw new Error(`EDGELLM_REF_LLAMA=${which}: expected "avx2" or unset`);
    }
    return mod.getLlama({
      gpu: false,
      build: "never",
      logLevel: mod.LlamaLogLevel.debug,
      logger: (level, text) => {
        const m = /loaded CPU backend from .*\/([^/\s]+)/.exec(text);
        if (m) backend = m[1];
        else if (level === mod.LlamaLogLevel.error || level === mod.LlamaLogLevel.fatal) console.error(text);
      },
    });
  })();
  return shared;
}

export type RefKVType = "F32" | "F16" | "Q8_0" | "Q4_0";

export interface ReferenceRun {
  /** Logits after the prompt's last token, [nVocab]. */
  logits: Float32Array;
  /** Greedy tokens after the prompt. */
  greedy: number[];
  /** Logits that produced each greedy token (greedyLogits[0] === logits). */
  greedyLogits: Float32Array[];
}

function toArray(m: Map<Token, number> | undefined, nVocab: number): Float32Array {
  if (!m) throw new Error("llama.cpp returned no logits");
  const out = new Float32Array(nVocab);
  for (const [k, v] of m) out[k as unknown as number] = v;
  return out;
}

export async function referenceRun(
  path: string,
  prompt: number[],
  nGreedy: number,
  nVocab: number,
  opts: {
    kv?: RefKVType;
    /** V cache type when it differs from K's (a quantized V needs flash attention in llama.cpp). */
    kvV?: RefKVType;
    flashAttention?: boolean;
    contextSize?: number;
    /** LoRA adapters applied to the context (llama.cpp: per context, scale as given). */
    lora?: { filePath: string; scale: number }[];
  } = {},
): Promise<ReferenceRun> {
  const llama = await referenceLlama();
  const model = await llama.loadModel({ modelPath: path });
  try {
    const ctx = await model.createContext({
      contextSize: opts.contextSize ?? 128,
      threads: 1,
      flashAttention: opts.flashAttention ?? false,
      experimentalKvCacheKeyType: opts.kv ?? "F32",
      experimentalKvCacheValueType: opts.kvV ?? opts.kv ?? "F32",
      ...(opts.lora?.length ? { lora: { adapters: opts.lora } } : {}),
    });
    try {
      const seq = ctx.getSequence();
      const V = nVocab;
      const tok = (t: number) => t as unknown as Token;
      const step = { generateNext: { token: true, logits: true, options: { temperature: 0 } } } as const;
      const first = await seq.controlledEvaluate([
        ...prompt.slice(0, -1).map(tok),
        [tok(prompt[prompt.length - 1]), step],
      ]);
      let r = first[prompt.length - 1]!;
      const greedyLogits = [toArray(r.next?.logits, V)];
      const greedy: number[] = [r.next!.token!];
      while (greedy.length < nGreedy) {
        const o = await seq.controlledEvaluate([[tok(greedy[greedy.length - 1]), step]]);
        r = o[0]!;
        greedyLogits.push(toArray(r.next?.logits, V));
        greedy.push(r.next!.token!);
      }
      return { logits: greedyLogits[0], greedy, greedyLogits };
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}
