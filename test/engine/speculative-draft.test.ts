// Draft-model speculative decoding (engine.ts draftModelTokens / verify / verifySampled): greedy
// output identical to plain greedy decoding (alone, with a penalty, two sequences batched with
// different draft lengths, through context shifts, and with the target itself as a perfect draft),
// the draft KV rolled back on rejection, sampling keeping the target's distribution (two-sample
// chi-square against plain sampling), and the vocabulary check (VocabMismatchError).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM } from "../../src/index.js";
import { InputError, ModelError, VocabMismatchError } from "../../src/errors.js";
import { openGGUF } from "../../src/gguf/reader.js";
import { modelConfig } from "../../src/model/index.js";
import { planPlacement } from "../../src/model/placement.js";
import { wasmPlacementTarget } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { kvPoolBytesPerLayer } from "../../src/engine/engine.js";
import { writeTestModel, defaultVocab } from "../../src/model/factory/index.js";
import { SMALL, assertSameDistribution, prompt, speculativeDelta } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "spec-draft-"));
const target = join(dir, "target.gguf");
const draft = join(dir, "draft.gguf");
await writeTestModel(target, { ...SMALL, nCtx: 512 });
// Another model with the same vocabulary: the target's first layer alone (the factory draws each
// tensor from its own stream of the seed, so embeddings, layer 0 and the head are the target's).
await writeTestModel(draft, { ...SMALL, nCtx: 512, nLayer: 1 });
const opts = { contextSize: 512, parallel: 2, threads: 1, blockSize: 16 } as const;
const plain = await loadLLM(target, opts);
const drafted = await loadLLM(target, { ...opts, draft });
const selfDrafted = await loadLLM(target, { ...opts, draft: target });
after(async () => {
  await plain.close();
  await drafted.close();
  await selfDrafted.close();
  rmSync(dir, { recursive: true, force: true });
});

test("greedy output with a draft model equals plain greedy (drafts rejected and accepted)", async () => {
  const loop = [...prompt(12, 4), ...prompt(12, 4)];
  for (const [p, extra, k] of [
    [prompt(30, 7), {}, 4],
    [loop, {}, 8],
    [prompt(20, 3), { repetitionPenalty: 1.3 }, 3],
  ] as const) {
    const o = { maxTokens: 100, temperature: 0, ignoreEos: true, ...extra };
    const ref = (await plain.complete([...p], o)).choices[0].tokens;
    const s0 = drafted.stats();
    const got = (await drafted.complete([...p], { ...o, speculative: { method: "draft", maxDraft: k } }))
      .choices[0].tokens;
    const d = speculativeDelta(drafted, s0);
    assert.deepEqual(got, ref);
    assert.equal(got.length, 100);
    assert.ok(d.drafted > 0 && d.draftForwards > 0, JSON.stringify(d));
    assert.ok(d.accepted < d.drafted, `a different model should miss sometimes: ${JSON.stringify(d)}`);
  }
});

test("the target as its own draft: every greedy draft accepted, far fewer target steps", async () => {
  const p = prompt(25, 11);
  const o = { maxTokens: 90, temperature: 0, ignoreEos: true } as const;
  const s0 = plain.stats();
  const ref = (await plain.complete(p, o)).choices[0].tokens;
  const plainSteps = plain.stats().steps - s0.steps;
  const s1 = selfDrafted.stats();
  const got = (await selfDrafted.complete(p, { ...o, speculative: { maxDraft: 5 } })).choices[0].tokens;
  const d = speculativeDelta(selfDrafted, s1);
  assert.deepEqual(got, ref);
  assert.equal(d.accepted, d.drafted);
  assert.ok(d.steps * 3 < plainSteps, `steps ${d.steps} vs ${plainSteps}`);
});

test("two draft-model sequences batched, other draft lengths, match their separate greedy runs", async () => {
  const a = prompt(15, 2);
  const b = prompt(40, 3);
  const o = { maxTokens: 60, temperature: 0, ignoreEos: true } as const;
  const [ra, rb] = await Promise.all([
    drafted.complete(a, { ...o, speculative: { maxDraft: 2 } }),
    drafted.complete(b, { ...o, speculative: { maxDraft: 7 } }),
  ]);
  assert.deepEqual(ra.choices[0].tokens, (await plain.complete(a, o)).choices[0].tokens);
  assert.deepEqual(rb.choices[0].tokens, (await plain.complete(b, o)).choices[0].tokens);
});

test("greedy with a draft through context shifts equals plain greedy with the same shifts", async () => {
  const small = { contextSize: 64, parallel: 1, threads: 1, blockSize: 16 } as const;
  const p1 = await loadLLM(target, small);
  const p2 = await loadLLM(target, { ...small, draft });
  try {
    const o = { maxTokens: 150, temperature: 0, ignoreEos: true, contextShift: { keep: 4 } } as const;
    const p = prompt(20, 5);
    const ref = await p1.complete(p, o);
    const got = await p2.complete(p, { ...o, speculative: { maxDraft: 4 } });
    assert.ok(p1.stats().contextShifts > 0);
    assert.deepEqual(got.choices[0].tokens, ref.choices[0].tokens);
  } finally {
    await p1.close();
    await p2.close();
  }
});

test("sampling with draft-model speculation keeps the target's distribution (two-sample chi-square)", async () => {
  // Joint distribution of the first 3 tokens (the last two speculative) over seeds, plain vs
  // speculative. Random weights give nearly flat logits (gaps ~0.05), so a low temperature with
  // top-k 3 makes p peaked; the draft's top 3 overlap the target's in part, so drafts are both
  // accepted and rejected, and keeping every draft would give the draft's distribution instead.
  const N = 1500;
  const p = prompt(10, 21);
  const o = { maxTokens: 3, temperature: 0.03, topK: 3, ignoreEos: true } as const;
  const s0 = drafted.stats();
  await assertSameDistribution(
    N,
    async (s) => (await plain.complete(p, { ...o, seed: s })).choices[0].tokens.join(),
    async (s) =>
      (
        await drafted.complete(p, { ...o, seed: 100000 + s, speculative: { maxDraft: 2 } })
      ).choices[0].tokens.join(),
    () => JSON.stringify(speculativeDelta(drafted, s0)),
  );
  const d = speculativeDelta(drafted, s0);
  assert.ok(d.drafted > 0 && d.accepted > 0 && d.accepted < d.drafted, JSON.stringify(d));
});

test("a draft with another vocabulary is a VocabMismatchError naming the difference", async () => {
  const bigger = join(dir, "bigger.gguf");
  await writeTestModel(bigger, { ...SMALL, nVocab: 401, nLayer: 1 });
  await assert.rejects(loadLLM(target, { ...opts, draft: bigger }), (e: unknown) => {
    assert.ok(e instanceof VocabMismatchError, String(e));
    assert.match((e as Error).message, /401/);
    return true;
  });
  const v = defaultVocab(400);
  const toks = [...(v["tokenizer.ggml.tokens"] as string[])];
  toks[300] = "\u2581zzz";
  const other = join(dir, "other.gguf");
  await writeTestModel(other, { ...SMALL, nLayer: 1, vocab: { ...v, "tokenizer.ggml.tokens": toks } });
  await assert.rejects(loadLLM(target, { ...opts, draft: other }), (e: unknown) => {
    assert.ok(e instanceof VocabMismatchError, String(e));
    assert.equal((e as VocabMismatchError).what, "token 300");
    assert.match((e as Error).message, /zzz/);
    return true;
  });
});

test("method 'draft' without a draft model, or a bad maxDraft, is an InputError", async () => {
  await assert.rejects(plain.complete([5, 6, 7], { speculative: { method: "draft" } }), InputError);
  await assert.rejects(drafted.complete([5, 6, 7], { speculative: { maxDraft: 0 } }), InputError);
});

test("the draft model and its KV pool count in maxMemory", async () => {
  // The budget each model needs (weights, KV pool of the same blocks, working room), by placement.
  const need = async (path: string) => {
    const f = await openGGUF(path);
    try {
      const kvBytesPerLayer = kvPoolBytesPerLayer(modelConfig(f), opts);
      assert.ok(kvBytesPerLayer > 0);
      return planPlacement(f, wasmPlacementTarget(), { kvBytesPerLayer }).totalBytes;
    } finally {
      await f.close();
    }
  };
  const t = await need(target);
  const d = await need(draft);
  await assert.rejects(loadLLM(target, { ...opts, draft, maxMemory: t + d - 1 }), (e: unknown) => {
    assert.ok(e instanceof ModelError, String(e));
    assert.match((e as Error).message, /draft model does not fit/);
    return true;
  });
  const ok = await loadLLM(target, { ...opts, draft, maxMemory: t + d });
  await ok.close();
});
