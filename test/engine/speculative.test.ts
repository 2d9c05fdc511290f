// Prompt-lookup speculative decoding (engine/speculative.ts): greedy output identical to one
// token per step (alone, with a repetition penalty, two sequences batched together, and at the
// edge of max_tokens), with drafts accepted and fewer forward steps.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { loadLLM } from "../../src/index.js";
import { lookupDraft } from "../../src/engine/speculative.js";
import { SMALL, prompt, smallModel } from "./helpers.js";

const m = await smallModel({ ...SMALL, nCtx: 512 });
const llm = await loadLLM(m.path, { contextSize: 512, parallel: 2, threads: 1, blockSize: 16 });
after(async () => {
  await llm.close();
  m.cleanup();
});

test("lookupDraft: the tokens after the most recent earlier match of the tail", () => {
  assert.deepEqual(lookupDraft([1, 2, 3, 9, 1, 2, 3, 7, 8, 1, 2, 3], { maxDraft: 3 }, 10), [7, 8, 1]);
  assert.deepEqual(lookupDraft([5, 6, 7], {}, 10), []);
  assert.deepEqual(lookupDraft([4, 1, 4], { ngram: 2 }, 1), [1]);
  assert.deepEqual(lookupDraft([4, 1, 4], {}, 0), []);
  // At most draftPerMatch tokens per matched token (default 1): a 1-token match drafts 1.
  assert.deepEqual(lookupDraft([7, 5, 6, 8, 9, 7], { maxDraft: 8 }, 10), [5]);
  assert.deepEqual(lookupDraft([7, 5, 6, 8, 9, 7], { maxDraft: 8, draftPerMatch: 3 }, 10), [5, 6, 8]);
  // The longest matching tail decides where to copy from: [0, 2, 3] last occurred before 9, but
  // the 4-token tail [1, 0, 2, 3] occurred before 5 6 (a repeated passage).
  const rep = [1, 0, 2, 3, 5, 6, 0, 2, 3, 9, 1, 0, 2, 3];
  assert.deepEqual(lookupDraft(rep, { maxDraft: 2 }, 10), [5, 6]);
  assert.deepEqual(lookupDraft(rep, { maxDraft: 2, ngram: 3 }, 10), [9, 1]);
});

test("greedy output is identical with prompt-lookup drafts, in fewer steps", async () => {
  const loop = [...prompt(12, 4), ...prompt(12, 4), ...prompt(12, 4)];
  for (const [p, extra] of [
    [loop, {}],
    [prompt(30, 7), {}],
    [loop, { repetitionPenalty: 1.3 }],
  ] as const) {
    const opts = { maxTokens: 120, temperature: 0, ignoreEos: true, ...extra };
    const s0 = llm.stats();
    const plain = await llm.complete([...p], opts);
    const s1 = llm.stats();
    const spec = await llm.complete([...p], { ...opts, speculative: { maxDraft: 6 } });
    const s2 = llm.stats();
    assert.deepEqual(spec.choices[0].tokens, plain.choices[0].tokens);
    assert.equal(spec.choices[0].tokens.length, 120);
    const accepted = s2.acceptedDraftTokens - s1.acceptedDraftTokens;
    if (p === loop && !("repetitionPenalty" in extra)) {
      assert.ok(accepted > 20, `accepted ${accepted}`);
      assert.ok(
        s2.steps - s1.steps < s1.steps - s0.steps,
        `steps ${s2.steps - s1.steps} vs ${s1.steps - s0.steps}`,
      );
    }
  }
});

test("two speculative sequences batched together match their separate greedy runs", async () => {
  const a = [...prompt(10, 2), ...prompt(10, 2)];
  const b = prompt(25, 3);
  const opts = { maxTokens: 60, temperature: 0, ignoreEos: true } as const;
  const [ra, rb] = await Promise.all([
    llm.complete(a, { ...opts, speculative: {} }),
    llm.complete(b, { ...opts, speculative: { ngram: 2, maxDraft: 4 } }),
  ]);
  assert.deepEqual(ra.choices[0].tokens, (await llm.complete(a, opts)).choices[0].tokens);
  assert.deepEqual(rb.choices[0].tokens, (await llm.complete(b, opts)).choices[0].tokens);
});
