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
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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
  /** With `kvState`: the K/V rows llama.cpp stored at the end of the run (see parseSeqState). */
  kv?: SeqStateKV;
}

/** K and V rows of every layer as llama.cpp stores them (positions 0..nCells-1, raw row bytes). */
export interface SeqStateKV {
  nCells: number;
  k: Uint8Array[];
  v: Uint8Array[];
}

/**
 * The KV rows of a llama_state_seq_save_file file (llama.cpp src/llama-context.cpp
 * state_seq_save_file, src/llama-kv-cache.cpp state_write/_meta/_data): u32 magic, u32 version,
 * u32 n_tokens, i32 tokens[n]; u32 n_stream, u32 cell_count; per cell i32 pos, u32 n_seq,
 * i32 seq_ids[n_seq]; u32 v_trans, u32 n_layer; per layer i32 k_type, u64 k_row_bytes, rows; then
 * the same for V (v_trans 0, which flash attention gives). One stream, no cell extensions.
 */
export function parseSeqState(b: Uint8Array): SeqStateKV {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 0;
  const u32 = () => {
    const x = dv.getUint32(o, true);
    o += 4;
    return x;
  };
  o += 8;
  const nTokens = u32();
  o += 4 * nTokens;
  if (u32() !== 1) throw new Error("llama.cpp state: expected one KV stream");
  const nCells = u32();
  for (let i = 0; i < nCells; i++) {
    o += 4;
    const nSeq = u32();
    o += 4 * nSeq;
  }
  if (u32() !== 0) throw new Error("llama.cpp state: transposed V rows (flash attention off) not parsed");
  const nLayer = u32();
  const rows = (): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let l = 0; l < nLayer; l++) {
      o += 4;
      const rowBytes = Number(dv.getBigUint64(o, true));
      o += 8;
      out.push(b.slice(o, o + rowBytes * nCells));
      o += rowBytes * nCells;
    }
    return out;
  };
  const k = rows();
  const v = rows();
  if (o !== b.length) throw new Error(`llama.cpp state: ${b.length - o} bytes left after the V rows`);
  return { nCells, k, v };
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
    /** Also return the KV rows llama.cpp stored (its sequence state saved after the last step). */
    kvState?: boolean;
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
      let kv: SeqStateKV | undefined;
      if (opts.kvState) {
        const dir = mkdtempSync(join(tmpdir(), "ref-state-"));
        try {
          const file = join(dir, "seq.state");
          await seq.saveStateToFile(file);
          kv = parseSeqState(readFileSync(file));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      return { logits: greedyLogits[0], greedy, greedyLogits, kv };
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}
