/**
 * Issue 21's shipped demonstration adapter (models/adapters/units-lora.gguf, made by
 * scripts/lora-demo.mjs) on the shipped default model (Q8_0): the first 10 held-out unit
 * conversions (values the training never saw) are answered exactly with the adapter and never
 * without it; and llama.cpp (node-llama-cpp, CPU) with the same adapter file picks our greedy token
 * at every completion position (or a near-tie below the stated logit gap, vLLM's rule).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";
import type { ChatMessage } from "../../src/tokenizer/chat-template.js";
import { loadLLM } from "../../src/engine/llm.js";
import { unitExamples } from "../../src/train/data/units.js";
import { finalAnswer } from "../../src/train/eval/arithmetic.js";

const MODELS = new URL("../../../models/", import.meta.url).pathname;
const Q8 = `${MODELS}edgellm-default-q8_0.gguf`;
const ADAPTER = `${MODELS}adapters/units-lora.gguf`;
const ITEMS = unitExamples(10, "test");
const ask = (e: (typeof ITEMS)[number]): ChatMessage[] => [{ role: "user", content: e.messages[0].content }];

test("units adapter: held-out conversions right with it (>= 9/10), never without", async () => {
  const opts = { kernels: "wasm" as const, threads: 1, parallel: 4 };
  const score = async (lora: boolean) => {
    const llm = await loadLLM(Q8, lora ? { ...opts, lora: [{ path: ADAPTER }] } : opts);
    try {
      const got = await Promise.all(
        ITEMS.map((e) =>
          llm.complete({ messages: ask(e) }, { temperature: 0, maxTokens: 80 }).then((c) => {
            return finalAnswer(c.choices[0].text) === String(e.answer);
          }),
        ),
      );
      return got.filter(Boolean).length;
    } finally {
      await llm.close();
    }
  };
  const withIt = await score(true);
  const without = await score(false);
  assert.ok(withIt >= 9, `with the adapter ${withIt}/10`);
  assert.equal(without, 0, `without the adapter ${without}/10`);
});

test("units adapter: llama.cpp with the same adapter agrees with our greedy tokens", async () => {
  const TOL = 0.05; // logit gap accepted at a near-tie (Q8_0 activations, F32 adapter)
  const llm = await loadLLM(Q8, { kernels: "wasm", threads: 1, parallel: 1, lora: [{ path: ADAPTER }] });
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: Q8 });
  const ctx = await model.createContext({
    contextSize: 256,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
    lora: { adapters: [{ filePath: ADAPTER, scale: 1 }] },
  });
  let positions = 0;
  let exact = 0;
  try {
    for (const e of ITEMS.slice(0, 3)) {
      const messages = ask(e);
      const prompt = llm.encodeChat(messages);
      const c = await llm.complete({ messages }, { temperature: 0, maxTokens: 80 });
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
          positions++;
          if (best === ours[j]) exact++;
          else
            assert.ok(
              bestLogit - mine <= TOL,
              `"${messages[0].content}" position ${j}: llama.cpp picks ${best} (${bestLogit}), we picked ${ours[j]} (${mine})`,
            );
        }
      } finally {
        seq.dispose();
      }
    }
  } finally {
    await ctx.dispose();
    await model.dispose();
    await llm.close();
  }
  console.log(`# llama.cpp argmax = ours at ${exact}/${positions} completion positions`);
  assert.ok(positions > 30);
});
