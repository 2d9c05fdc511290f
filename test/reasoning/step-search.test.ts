// Step-level beam search guided by the arithmetic verifier as a process verifier: a scripted
// step generator whose first expansion is always a wrong step; the search must keep the right
// steps and end on the right answer. Also the LLM step generator on a small model (line steps).
import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { LLM } from "../../src/engine/llm.js";
import { llmStepGenerator, stepSearch, type StepGenerator } from "../../src/reasoning/step-search.js";
import { ArithmeticVerifier } from "../../src/verify/arithmetic.js";
import { prompt, smallModel } from "../engine/helpers.js";

const GOOD = [
  "<think>\n",
  "7 + 5 + 0 = 12, write 2, carry 1\n",
  "2 + 1 + 1 = 4, write 4\n",
  "so 27 + 15 = 42\n",
  "</think>\nThe answer is 42.",
];
const BAD = [
  "<think>\n",
  "7 + 5 + 0 = 13, write 3, carry 1\n",
  "2 + 1 + 1 = 5, write 5\n",
  "so 27 + 15 = 53\n",
  "</think>\nThe answer is 53.",
];

/** At depth d the expansions are [bad, good, bad, good...]; a step after a wrong one stays wrong. */
const scriptedSteps: StepGenerator = async (prefix, o) => {
  const lines = prefix === "" ? 0 : prefix.split("\n").length - 1;
  const onGood = GOOD.slice(0, lines).join("") === prefix;
  return Array.from({ length: o.n }, (_, i) => {
    const good = onGood && i % 2 === 1;
    const text = (good ? GOOD : BAD)[Math.min(lines, 4)];
    return { text, done: lines >= 4, tokens: 5 };
  });
};

test("beam search keeps the verified steps and ends on the right answer", async () => {
  const r = await stepSearch(scriptedSteps, {
    question: "What is 27 + 15?",
    verifier: new ArithmeticVerifier(),
    width: 2,
    expand: 2,
    maxSteps: 8,
  });
  assert.equal(r.answer, "42");
  assert.equal(r.best!.text, GOOD.join(""));
  assert.ok(r.tokens > 0 && r.scored > 0);
  // Width 1 and a single expansion is plain sampling of the first (wrong) path.
  const greedy = await stepSearch(scriptedSteps, {
    question: "What is 27 + 15?",
    verifier: new ArithmeticVerifier(),
    width: 1,
    expand: 1,
    maxSteps: 8,
  });
  assert.equal(greedy.answer, "53");
  await assert.rejects(
    stepSearch(scriptedSteps, { question: "", verifier: new ArithmeticVerifier(), width: 0 }),
    InputError,
  );
});

test("LLM step generator: each expansion is one line or the end", async () => {
  const m = await smallModel();
  try {
    const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 4 });
    const gen = llmStepGenerator(llm, prompt(12, 5), 6);
    const steps = await gen("", { n: 3, seed: 2, temperature: 1 });
    assert.equal(steps.length, 3);
    for (const s of steps) {
      assert.ok(s.tokens >= 1 && s.tokens <= 6);
      assert.equal(s.text.slice(0, -1).includes("\n"), false, "at most one newline, at the end");
      if (!s.done) assert.ok(s.text.endsWith("\n"));
    }
    const r = await stepSearch(gen, {
      question: "What is 1 + 1?",
      verifier: new ArithmeticVerifier(),
      width: 2,
      expand: 2,
      maxSteps: 3,
      seed: 1,
      temperature: 1,
    });
    assert.ok(r.finished.length >= 1);
    await llm.close();
  } finally {
    m.cleanup();
  }
});
