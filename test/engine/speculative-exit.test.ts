// Self-speculative early exit (LayerSkip; engine.ts exitDraft): the draft is the target's own
// first k layers + its final norm and head, writing the target's KV of those layers; the
// verification runs layers >= k from the drafts' saved hidden rows. Checked with the WASM kernels:
//  - the exit logits equal a k-layer model's (the factory draws each tensor from its own stream
//    of the seed, so a 1- or 2-layer file has the target's embeddings, first layers and head);
//  - layers < k one row at a time, then layers >= k over several rows in one batch, give the
//    logits of the full forward one token at a time, bit for bit (why reusing is exact);
//  - greedy output equals plain greedy (k = 1, 2, 3; with a penalty; batched beside a lookup and a
//    plain sequence; through context shifts); sampling keeps the target's distribution.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM, type LLM } from "../../src/index.js";
import { InputError } from "../../src/errors.js";
import { forwardBatch } from "../../src/model/forward.js";
import { GGMLType } from "../../src/gguf/types.js";
import { writeTestModel } from "../../src/model/factory/index.js";
import { SMALL, assertSameDistribution, prompt, speculativeDelta } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "spec-exit-"));
const target = join(dir, "target.gguf");
// Q8_0 weights, as the default model's: the WASM Q8_0 product gives a row the same bits alone or
// in a batch (test/kernels/matvec: matvec == matmul rows), so verification rows are exact here.
// (F32 weights: the batched product differs from one row in the last bits, for every method.)
const SPEC = { ...SMALL, nCtx: 512, nLayer: 4, types: { weights: GGMLType.Q8_0 } };
await writeTestModel(target, SPEC);
const opts = { contextSize: 512, parallel: 3, threads: 1, blockSize: 16 } as const;
const llm = await loadLLM(target, opts);
after(async () => {
  await llm.close();
  rmSync(dir, { recursive: true, force: true });
});

const delta = (s0: ReturnType<LLM["stats"]>) => speculativeDelta(llm, s0);

test("exit logits after k layers equal a k-layer model's (same tensors), bit for bit", async () => {
  const model = llm.engine.model;
  const E = model.config.nEmbd;
  const p = prompt(21, 9);
  for (const k of [1, 2]) {
    const file = join(dir, `first${k}.gguf`);
    await writeTestModel(file, { ...SPEC, nLayer: k });
    const small = await loadLLM(file, { ...opts, parallel: 1 });
    try {
      const ref = small.engine.model.forward(p, small.engine.model.newCache(64), [0, 10, 20]);
      const cache = model.newCache(64);
      const hidden = new Float32Array(p.length * E);
      const got = forwardBatch(model, [{ tokens: p, cache, outputs: [0, 10, 20] }], {
        layers: { to: k },
        hidden,
      })[0];
      assert.equal(cache.length, p.length);
      for (let i = 0; i < 3; i++) assert.deepEqual(got[i], ref[i], `k ${k}, output ${i}`);
      assert.ok(hidden.some((v) => v !== 0));
    } finally {
      await small.close();
    }
  }
});

test("layers < k row by row, then layers >= k batched from the saved rows = the full forward", () => {
  const model = llm.engine.model;
  const E = model.config.nEmbd;
  const p = prompt(30, 4);
  const next = [17, 250, 3, 99];
  for (const k of [1, 3]) {
    // Reference: the full forward one token at a time (plain decoding).
    const a = model.newCache(64);
    model.forward(p, a);
    const ref = next.map((t) => model.forward([t], a)[0]);
    // Early exit: each token through layers < k alone, keeping its hidden row ...
    const b = model.newCache(64);
    model.forward(p, b);
    const hidden = new Float32Array(next.length * E);
    next.forEach((t, i) =>
      forwardBatch(model, [{ tokens: [t], cache: b, outputs: [] }], {
        layers: { to: k },
        hidden: hidden.subarray(i * E, (i + 1) * E),
      }),
    );
    // ... then layers >= k for all of them in one batch, from the positions they were drafted at.
    b.setLength(p.length);
    const got = forwardBatch(model, [{ tokens: next, embeddings: hidden, cache: b, outputs: [0, 1, 2, 3] }], {
      layers: { from: k },
    })[0];
    assert.equal(b.length, p.length + next.length);
    for (let i = 0; i < next.length; i++) assert.deepEqual(got[i], ref[i], `k ${k}, row ${i}`);
  }
  assert.throws(
    () =>
      forwardBatch(model, [{ tokens: [1], cache: model.newCache(8), outputs: [0] }], { layers: { from: 1 } }),
    InputError,
  );
  assert.throws(
    () =>
      forwardBatch(model, [{ tokens: [1], cache: model.newCache(8), outputs: [0] }], { layers: { to: 5 } }),
    InputError,
  );
});

test("greedy output with early-exit drafts equals plain greedy (k = 1, 2, 3; penalty)", async () => {
  const loop = [...prompt(12, 4), ...prompt(12, 4)];
  for (const [p, extra, k, maxDraft] of [
    [prompt(30, 7), {}, 1, 4],
    [loop, {}, 2, 8],
    [prompt(20, 3), { repetitionPenalty: 1.3 }, 3, 3],
    [prompt(25, 11), {}, 3, 6],
  ] as const) {
    const o = { maxTokens: 100, temperature: 0, ignoreEos: true, ...extra };
    const s0 = llm.stats();
    const ref = (await llm.complete([...p], o)).choices[0].tokens;
    const plainSteps = llm.stats().steps - s0.steps;
    const s1 = llm.stats();
    const got = (
      await llm.complete([...p], { ...o, speculative: { method: "early-exit", draftLayers: k, maxDraft } })
    ).choices[0].tokens;
    const d = delta(s1);
    console.log(`# k ${k} max ${maxDraft}: ${JSON.stringify(d)} (plain ${plainSteps} steps)`);
    assert.deepEqual(got, ref);
    assert.equal(got.length, 100);
    assert.ok(d.drafted > 0 && d.draftForwards >= d.drafted, JSON.stringify(d));
    assert.ok(d.accepted < d.drafted, `a shallower model should miss sometimes: ${JSON.stringify(d)}`);
  }
});

test("early-exit, lookup and plain sequences batched together match their separate greedy runs", async () => {
  const a = prompt(15, 2);
  const b = [...prompt(10, 8), ...prompt(10, 8)];
  const c = prompt(40, 3);
  const o = { maxTokens: 60, temperature: 0, ignoreEos: true } as const;
  const [ra, rb, rc] = await Promise.all([
    llm.complete(a, { ...o, speculative: { draftLayers: 2, maxDraft: 3 } }),
    llm.complete(b, { ...o, speculative: { method: "lookup", maxDraft: 5 } }),
    llm.complete(c, { ...o, speculative: { draftLayers: 3, maxDraft: 7 } }),
  ]);
  assert.deepEqual(ra.choices[0].tokens, (await llm.complete(a, o)).choices[0].tokens);
  assert.deepEqual(rb.choices[0].tokens, (await llm.complete(b, o)).choices[0].tokens);
  assert.deepEqual(rc.choices[0].tokens, (await llm.complete(c, o)).choices[0].tokens);
});

test("greedy with early-exit drafts through context shifts equals plain greedy with the same shifts", async () => {
  const small = await loadLLM(target, { contextSize: 64, parallel: 1, threads: 1, blockSize: 16 });
  try {
    const o = { maxTokens: 150, temperature: 0, ignoreEos: true, contextShift: { keep: 4 } } as const;
    const p = prompt(20, 5);
    const ref = await small.complete(p, o);
    const shifts = small.stats().contextShifts;
    assert.ok(shifts > 0);
    const got = await small.complete(p, { ...o, speculative: { draftLayers: 3, maxDraft: 4 } });
    assert.ok(small.stats().contextShifts > shifts);
    assert.deepEqual(got.choices[0].tokens, ref.choices[0].tokens);
  } finally {
    await small.close();
  }
});

test("sampling with early-exit drafts keeps the target's distribution (two-sample chi-square)", async () => {
  // As in speculative-draft.test.ts: joint distribution of the first 3 tokens over seeds, plain
  // vs speculative; a peaked p (low temperature, top-k 3) so drafts are accepted and rejected.
  const N = 1500;
  const p = prompt(10, 21);
  const o = { maxTokens: 3, temperature: 0.03, topK: 3, ignoreEos: true } as const;
  const s0 = llm.stats();
  await assertSameDistribution(
    N,
    async (s) => (await llm.complete(p, { ...o, seed: s })).choices[0].tokens.join(),
    async (s) =>
      (
        await llm.complete(p, { ...o, seed: 100000 + s, speculative: { draftLayers: 1, maxDraft: 2 } })
      ).choices[0].tokens.join(),
    () => JSON.stringify(delta(s0)),
  );
  const d = delta(s0);
  assert.ok(d.drafted > 0 && d.accepted > 0 && d.accepted < d.drafted, JSON.stringify(d));
});

test("draftPMin stops drafting on an unsure draft; with nothing drafted each token still verifies from layer k", async () => {
  const p = prompt(25, 11);
  const o = { maxTokens: 40, temperature: 0, ignoreEos: true } as const;
  const ref = (await llm.complete(p, o)).choices[0].tokens;
  // Random weights: softmax(draft row)'s top probability is ~1/400, so 0.5 stops every draft.
  const s0 = llm.stats();
  const got = (await llm.complete(p, { ...o, speculative: { draftLayers: 3, maxDraft: 4, draftPMin: 0.5 } }))
    .choices[0].tokens;
  const d = delta(s0);
  assert.deepEqual(got, ref);
  assert.equal(d.drafted, 0);
  // One pass of layers 0..2 per decoded token, then layers 3.. from it; the last token, with no
  // room to draft (max_tokens), is a plain step: 39 decode steps, 38 passes.
  assert.equal(d.draftForwards, 38);
  assert.equal(d.steps, 40);
  const s1 = llm.stats();
  await llm.complete(p, { ...o, speculative: { draftLayers: 3, maxDraft: 4, draftPMin: 0.001 } });
  assert.ok(delta(s1).drafted > 0);
  await assert.rejects(
    llm.complete(p, { ...o, speculative: { draftLayers: 3, draftPMin: 2 } }),
    (e: unknown) => e instanceof InputError && /draftPMin must be a number in \[0, 1\]/.test(e.message),
  );
});

test("bad early-exit options are InputErrors naming the range", async () => {
  const o = { maxTokens: 4, temperature: 0 } as const;
  for (const draftLayers of [0, 4, 1.5]) {
    await assert.rejects(
      llm.complete([5, 6], { ...o, speculative: { draftLayers } }),
      (e: unknown) => e instanceof InputError && /draftLayers must be an integer in 1\.\.3/.test(e.message),
    );
  }
  await assert.rejects(
    llm.complete([5, 6], { ...o, speculative: { method: "lookup", draftLayers: 2 } }),
    (e: unknown) => e instanceof InputError && /early-exit/.test(e.message),
  );
});
