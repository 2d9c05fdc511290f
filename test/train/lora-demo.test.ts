// The shipped demonstration adapter (models/edgellm-units-lora.gguf, `edgellm train --lora --demo
// units` on the default model; scripts/lora-demo.mjs measures it): on held-out conversions (odd
// values, training saw only even ones) the default model with the adapter gives the generator's
// answer, and without it (same LLM, `lora: []`) it does not.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { DEFAULT_MODEL_PATH } from "../../src/cli/default-model.js";
import { loadLLM } from "../../src/engine/llm.js";
import { unitExamples } from "../../src/train/data/units.js";
import { finalAnswer } from "../../src/train/eval/arithmetic.js";

const ADAPTER = fileURLToPath(new URL("../../../models/edgellm-units-lora.gguf", import.meta.url));
const llm = await loadLLM(DEFAULT_MODEL_PATH, {
  threads: 1,
  parallel: 4,
  lora: [{ path: ADAPTER, id: "units" }],
});
after(() => llm.close());

test("demo adapter: held-out unit conversions right with the adapter, wrong without", async () => {
  const items = unitExamples(8, "test");
  const ask = (q: string, lora?: { id: string }[]) =>
    llm.complete({ messages: [{ role: "user", content: q }] }, { temperature: 0, maxTokens: 80, lora });
  let withA = 0;
  let without = 0;
  await Promise.all(
    items.map(async (e) => {
      const q = e.messages[0]!.content;
      const a = (await ask(q, [{ id: "units" }])).choices[0]!.text;
      const b = (await ask(q, [])).choices[0]!.text;
      if (finalAnswer(a) === String(e.answer)) withA++;
      if (finalAnswer(b) === String(e.answer)) without++;
    }),
  );
  assert.ok(withA >= 7, `${withA}/8 right with the adapter`);
  assert.equal(without, 0, `${without}/8 right without it`);
});
