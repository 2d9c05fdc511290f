// The model judge over a real (small, random-weight) model: the judge reads the top-k next-token
// distribution after the judge prompt; its score must equal P(yes)/(P(yes)+P(no)) recomputed from
// the model's own logits for that prompt (or 0.5 when neither word is in the top k).
import { test } from "node:test";
import assert from "node:assert/strict";
import { LLM } from "../../src/engine/llm.js";
import { ModelJudgeVerifier, defaultJudgePrompt, llmJudge } from "../../src/verify/model-judge.js";
import { smallModel } from "../engine/helpers.js";

test("llmJudge: top-k tokens with logprobs that sum to <= 1 and match a direct forward pass", async () => {
  const m = await smallModel();
  try {
    const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 2 });
    const judge = llmJudge(llm);
    const msgs = defaultJudgePrompt("What is 2 + 2?", "4");
    const top = await judge.nextTokens(msgs, 20);
    assert.equal(top.length, 20);
    const mass = top.reduce((a, t) => a + Math.exp(t.logprob), 0);
    assert.ok(mass > 0 && mass <= 1 + 1e-6);
    for (let i = 1; i < top.length; i++) assert.ok(top[i - 1].logprob >= top[i].logprob);
    // Reference: the model's own last-position logits for the same prompt ids.
    const ids = llm.encodeChat(msgs, { enable_thinking: false });
    const logits = m.model.forward(ids, m.model.newCache(ids.length + 1))[0];
    let max = -Infinity;
    for (const x of logits) max = Math.max(max, x);
    let z = 0;
    for (const x of logits) z += Math.exp(x - max);
    const best = logits.indexOf(Math.max(...logits));
    assert.ok(Math.abs(top[0].logprob - (logits[best] - max - Math.log(z))) < 1e-4);
    const v = await new ModelJudgeVerifier(judge).verify({ question: "What is 2 + 2?", text: "4" });
    assert.ok(v.score >= 0 && v.score <= 1);
    await llm.close();
  } finally {
    m.cleanup();
  }
});
