/**
 * Greedy agreement with llama.cpp (node-llama-cpp, CPU) for one GGUF (and optional LoRA adapter):
 * each question is answered greedily by our engine (chat template, tokenizer), then prompt + our
 * completion is fed to llama.cpp, which must pick our token at every completion position — or a
 * near-tie whose logit gap is at most `tol` (vLLM's check_logprobs_close rule). Used by the
 * default-model and LoRA-demo tests.
 */
import assert from "node:assert/strict";
import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";
import { loadLLM } from "../../src/engine/llm.js";
import { finalAnswer } from "../../src/train/eval/arithmetic.js";

export interface Agreement {
  /** completion positions compared */
  positions: number;
  /** positions where llama.cpp's argmax is our token */
  exact: number;
  /** completions that end in a final answer */
  answered: number;
}

export async function llamaCppAgrees(
  path: string,
  questions: readonly string[],
  o: { tol: number; maxTokens: number; adapter?: string; contextSize?: number },
): Promise<Agreement> {
  const lora = o.adapter ? [{ path: o.adapter }] : undefined;
  const llm = await loadLLM(path, { kernels: "wasm", threads: 1, parallel: 1, lora });
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: path });
  const ctx = await model.createContext({
    contextSize: o.contextSize ?? llm.contextSize,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
    ...(o.adapter ? { lora: { adapters: [{ filePath: o.adapter, scale: 1 }] } } : {}),
  });
  const r: Agreement = { positions: 0, exact: 0, answered: 0 };
  try {
    for (const question of questions) {
      const messages = [{ role: "user" as const, content: question }];
      const prompt = llm.encodeChat(messages);
      const c = await llm.complete({ messages }, { temperature: 0, maxTokens: o.maxTokens });
      const ours = c.choices[0].tokens;
      const seq = ctx.getSequence();
      try {
        const all = [...prompt, ...ours];
        const input: ControlledEvaluateInputItem[] = all.map((t, i) =>
          i >= prompt.length - 1 && i < all.length - 1
            ? [t as Token, { generateNext: { logits: true } }]
            : (t as Token),
        );
        const out = await seq.controlledEvaluate(input);
        for (let j = 0; j < ours.length; j++) {
          const lg = out[prompt.length - 1 + j]?.next?.logits;
          assert.ok(lg, `no llama.cpp logits at completion position ${j}`);
          const [best, bestLogit] = lg.entries().next().value!;
          const mine = lg.get(ours[j] as Token)!;
          r.positions++;
          if (best === ours[j]) r.exact++;
          else
            assert.ok(
              bestLogit - mine <= o.tol,
              `${path}: "${question}" position ${j}: llama.cpp picks ${best} (${bestLogit}), we picked ${ours[j]} (${mine})`,
            );
        }
        if (finalAnswer(c.choices[0].text) !== null) r.answered++;
      } finally {
        seq.dispose();
      }
    }
  } finally {
    await ctx.dispose();
    await model.dispose();
    await llm.close();
  }
  return r;
}
