/**
 * H2O eviction (kv/eviction.ts) and what it rests on:
 *  - selectPositions keeps the sinks, the recent window and the `heavy` highest-scoring older
 *    positions, dropping the rest;
 *  - the accumulated attention (kv/attn-scores.ts) is a sum of softmax rows: after a prompt in two
 *    chunks it totals layers x heads x tokens;
 *  - compactRows (engine/context-shift.ts) drops an arbitrary set: layer-0 rows after it equal a
 *    fresh prefill of the kept tokens (each row shifted by its own distance), scores move along;
 *  - through the engine: a 64-position budget decodes 300 tokens in bounded memory, every
 *    eviction keeps exactly the highest-scoring older positions, and the tokens before the first
 *    eviction equal plain greedy decoding's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { H2O, InputError, loadLLM } from "../../src/index.js";
import { loadModel } from "../../src/model/index.js";
import { createWasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { compactRows } from "../../src/engine/context-shift.js";
import type { PagedKVCache } from "../../src/kv/paged-cache.js";
import { prompt } from "../engine/helpers.js";
import { assertEvictingRun, evictionTestModel } from "./helpers.js";

test("H2O.selectPositions keeps sinks, the recent window and the heavy hitters", () => {
  const h = new H2O(16, 4, 4, 1);
  const scores = new Float64Array(16);
  const heavy = [3, 7, 8, 10];
  for (let p = 0; p < 16; p++) scores[p] = heavy.includes(p) ? 10 + p : p === 0 ? 100 : 0.5;
  const drop = h.selectPositions(16, scores);
  const kept = Array.from({ length: 16 }, (_, p) => p).filter((p) => !drop.includes(p));
  assert.deepEqual(kept, [0, 3, 7, 8, 10, 12, 13, 14, 15]);
  assert.deepEqual(
    drop,
    [...drop].sort((a, b) => a - b),
  );
  assert.throws(() => new H2O(8, 4, 4), InputError);
  assert.throws(() => new H2O(8, 2, 0), InputError);
});

const path = await evictionTestModel("h2o-");

test("accumulated attention: sums to layers x heads x tokens; compactRows keeps layer-0 rows exact and moves scores", async () => {
  const ks = await createWasmKernelSet({ threads: 1 });
  try {
    const model = await loadModel(path, { kernels: ks });
    const c = model.config;
    const toks = prompt(48, 3);
    const a = model.newCache(64) as PagedKVCache;
    a.trackAttention();
    model.forward(toks.slice(0, 30), a);
    model.forward(toks.slice(30), a);
    const sc = a.attnScores!;
    let total = 0;
    for (let p = 0; p < toks.length; p++) total += sc[p];
    const want = c.nLayers * c.nHead * toks.length;
    assert.ok(Math.abs(total - want) < 1e-6 * want, `${total} vs ${want}`);
    // Position 0 is read by every query: its share is at least 1/len of each row.
    assert.ok(sc[0] > sc[toks.length - 1]);
    const before = Float64Array.from(sc);
    const drop = [2, 3, 9, 20, 21, 22, 40];
    compactRows(model, a, drop);
    const kept = toks.filter((_, p) => !drop.includes(p));
    assert.equal(a.length, kept.length);
    const keptPos = toks.map((_, p) => p).filter((p) => !drop.includes(p));
    keptPos.forEach((p, i) => assert.equal(a.attnScores![i], before[p]));
    for (let i = kept.length; i < 64; i++) assert.equal(a.attnScores![i], 0);
    const b = model.newCache(64) as PagedKVCache;
    model.forward(kept, b);
    const W = a.shape.kWidth;
    const [ra, rb] = [new Float32Array(W), new Float32Array(W)];
    let err = 0;
    let mag = 0;
    for (let p = 0; p < kept.length; p++) {
      a.readRow("k", 0, p, 0, ra, 0, W);
      b.readRow("k", 0, p, 0, rb, 0, W);
      for (let i = 0; i < W; i++) {
        err = Math.max(err, Math.abs(ra[i] - rb[i]));
        mag = Math.max(mag, Math.abs(rb[i]));
      }
      a.readRow("v", 0, p, 0, ra, 0, W);
      b.readRow("v", 0, p, 0, rb, 0, W);
      for (let i = 0; i < W; i++) assert.equal(ra[i], rb[i]);
    }
    assert.ok(err <= 1e-4 * mag, `K ${err} (max ${mag})`);
  } finally {
    await ks.dispose();
  }
});

test("H2O through the engine: 300 tokens at a 64 budget, each eviction keeps the highest-scoring positions", async () => {
  const llm = await loadLLM(path, { contextSize: 512, blockSize: 16, parallel: 1, threads: 1 });
  try {
    const policy = new H2O(64, 16, 16, 2);
    const checks: { len: number; ok: boolean; kept: number }[] = [];
    const select = policy.selectPositions.bind(policy);
    policy.selectPositions = (len: number, scores: Float64Array) => {
      const drop = select(len, scores);
      const gone = new Set(drop);
      // Older candidates (past the sinks, before the recent window): kept ones outscore dropped ones.
      let minKept = Infinity;
      let maxDropped = -Infinity;
      let kept = 0;
      for (let p = 2; p < len - 16; p++) {
        if (gone.has(p)) maxDropped = Math.max(maxDropped, scores[p]);
        else {
          minKept = Math.min(minKept, scores[p]);
          kept++;
        }
      }
      for (let p = 0; p < 2; p++) assert.ok(!gone.has(p), "a sink was dropped");
      for (let p = len - 16; p < len; p++) assert.ok(!gone.has(p), "a recent position was dropped");
      checks.push({ len, ok: minKept >= maxDropped, kept });
      return drop;
    };
    await assertEvictingRun(llm, policy, 16);
    assert.ok(checks.length >= 8, `${checks.length} evictions`);
    for (const c of checks) {
      assert.equal(c.len, 63); // the budget's last slot is the pending sampled token
      assert.equal(c.kept, 16);
      assert.ok(c.ok, "a dropped position outscored a kept one");
    }
  } finally {
    await llm.close();
  }
});
