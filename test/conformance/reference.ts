/**
 * llama.cpp as the reference (node-llama-cpp's prebuilt CPU build): last-position logits for a
 * token sequence and a greedy continuation, with the raw logits of every greedy step (to tell a
 * real divergence from a near-tie). Flash attention off; KV cache F32 unless asked otherwise.
 */
import { getLlama, type Llama, type Token } from "node-llama-cpp";

let shared: Promise<Llama> | undefined;
export function referenceLlama(): Promise<Llama> {
  shared ??= getLlama({ gpu: false, build: "never", logLevel: "error" as never });
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
