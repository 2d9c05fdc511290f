/**
 * Issue 21's shipped demonstration adapter (models/adapters/units-lora.gguf, made by
 * scripts/lora-demo.mjs) on the shipped default model (Q8_0): the first 10 held-out unit
 * conversions (values the training never saw) are answered exactly with the adapter and never
 * without it; and llama.cpp (node-llama-cpp, CPU) with the same adapter file picks our greedy token
 * at every completion position (or a near-tie below the stated logit gap, vLLM's rule).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ChatMessage } from "../../src/tokenizer/chat-template.js";
import { loadLLM } from "../../src/engine/llm.js";
import { unitExamples } from "../../src/train/data/units.js";
import { llamaCppAgrees } from "./llamacpp-agree.js";
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
  const questions = ITEMS.slice(0, 3).map((e) => e.messages[0].content);
  const r = await llamaCppAgrees(Q8, questions, {
    tol: TOL,
    maxTokens: 80,
    adapter: ADAPTER,
    contextSize: 256,
  });
  console.log(`# llama.cpp argmax = ours at ${r.exact}/${r.positions} completion positions`);
  assert.ok(r.positions > 30);
});
