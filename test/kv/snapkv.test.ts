/**
 * SnapKV eviction (kv/eviction.ts) and what it rests on:
 *  - selectPerHead keeps, per layer and KV head, the observation window and the older positions
 *    with the highest max-pooled scores;
 *  - observedScores (kv/attn-scores.ts) from the recorded queries (kv/obs-queries.ts): with every
 *    prompt query observed, summed over KV heads it equals the accumulated attention H2O tracks in
 *    the forward pass (another code path), and each head's scores total queries x group size;
 *  - compactPerHead (engine/context-shift.ts): after it, head kh's slice of every layer-0 K and V
 *    row equals a fresh prefill of the tokens that head kept (layer 0 depends only on token and
 *    position), and the observed layer-0 queries equal the ones that fresh prefill records;
 *  - through the engine: 300 tokens at a 64-position budget in bounded memory, the tokens before
 *    the first eviction equal plain greedy decoding's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError, SnapKV, loadLLM } from "../../src/index.js";
import { loadModel } from "../../src/model/index.js";
import { createWasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { compactPerHead } from "../../src/engine/context-shift.js";
import { observedScores } from "../../src/kv/attn-scores.js";
import type { PagedKVCache } from "../../src/kv/paged-cache.js";
import { prompt } from "../engine/helpers.js";
import { assertEvictingRun, evictionTestModel } from "./helpers.js";

test("SnapKV.selectPerHead keeps the window and the best max-pooled older positions, per head", () => {
  // budget 16, keep 6, window 2, pooling kernel 3: 4 older positions per head out of 0..13.
  const s = new SnapKV(16, 6, 2, 3);
  const a = new Float64Array(16).fill(0.1);
  a[5] = 9; // pooled: 4, 5, 6 score 9
  a[12] = 5; // pooled: 11, 12, 13 score 5 -> the 4th pick is the newest of them
  const b = new Float64Array(16).fill(0.1);
  b[0] = 7; // pooled: 0, 1 score 7
  b[9] = 3; // pooled: 8, 9, 10
  const kept = s.selectPerHead(16, [[a, b]]);
  assert.deepEqual(kept, [
    [
      [4, 5, 6, 13, 14, 15],
      [0, 1, 9, 10, 14, 15],
    ],
  ]);
  assert.throws(() => new SnapKV(8, 8), InputError);
  assert.throws(() => new SnapKV(8, 4, 5), InputError);
});

const path = await evictionTestModel("snapkv-");

test("observed scores match the forward pass's accumulated attention; compactPerHead keeps each head's rows exact", async () => {
  const ks = await createWasmKernelSet({ threads: 1 });
  try {
    const model = await loadModel(path, { kernels: ks });
    const c = model.config;
    const qDim = c.nHead * c.headDimK;
    const toks = prompt(40, 3);
    const a = model.newCache(64) as PagedKVCache;
    a.trackAttention();
    a.observeQueries(toks.length, c.nLayers, qDim);
    model.forward(toks.slice(0, 25), a);
    model.forward(toks.slice(25), a);
    const shape = () => ({
      nHead: c.nHead,
      nHeadKV: c.nHeadKV,
      headDim: c.headDimK,
      scale: c.spec.scaleQ ? 1 : c.attnScale,
      window: 0,
      softcap: c.attnSoftcap,
    });
    const scratch = new Float32Array(toks.length * c.headDimK);
    const sum = new Float64Array(toks.length);
    for (let l = 0; l < c.nLayers; l++) {
      const per = observedScores(shape(), a, l, a.observed!, toks.length, scratch);
      for (const h of per) {
        let t = 0;
        h.forEach((v, p) => {
          sum[p] += v;
          t += v;
        });
        const want = toks.length * (c.nHead / c.nHeadKV);
        assert.ok(Math.abs(t - want) < 1e-9 * want, `${t} vs ${want}`);
      }
    }
    for (let p = 0; p < toks.length; p++)
      assert.ok(Math.abs(sum[p] - a.attnScores![p]) < 1e-9 * toks.length, `position ${p}`);

    // Per-head sets of 12 (each ending with the newest 4 positions), different per head and layer.
    const len = toks.length;
    const keep = Array.from({ length: c.nLayers }, (_, l) =>
      Array.from({ length: c.nHeadKV }, (_, kh) => {
        const older = Array.from({ length: len - 4 }, (_, p) => p).filter((p) => (p * (kh + 2) + l) % 5 < 2);
        return [...older.slice(0, 8), len - 4, len - 3, len - 2, len - 1];
      }),
    );
    assert.notDeepEqual(keep[0][0], keep[0][1]);
    const before = Float32Array.from(a.observed!.q[0]);
    compactPerHead(model, a, keep);
    assert.equal(a.length, 12);
    const hd = c.headDimK;
    const W = a.shape.kWidth;
    const [ra, rb] = [new Float32Array(W), new Float32Array(W)];
    for (let kh = 0; kh < c.nHeadKV; kh++) {
      const b = model.newCache(64) as PagedKVCache;
      b.observeQueries(4, c.nLayers, qDim);
      model.forward(
        keep[0][kh].map((p) => toks[p]),
        b,
      );
      let err = 0;
      let mag = 0;
      for (let i = 0; i < 12; i++) {
        a.readRow("k", 0, i, kh * hd, ra, 0, hd);
        b.readRow("k", 0, i, kh * hd, rb, 0, hd);
        for (let j = 0; j < hd; j++) {
          err = Math.max(err, Math.abs(ra[j] - rb[j]));
          mag = Math.max(mag, Math.abs(rb[j]));
        }
        a.readRow("v", 0, i, kh * hd, ra, 0, hd);
        b.readRow("v", 0, i, kh * hd, rb, 0, hd);
        for (let j = 0; j < hd; j++) assert.equal(ra[j], rb[j], `V head ${kh} row ${i}`);
      }
      assert.ok(err <= 1e-4 * mag, `K head ${kh}: ${err} (max ${mag})`);
      // The window's queries moved from positions 36..39 to 8..11 with their rows re-rotated.
      if (kh === 0) {
        assert.deepEqual(
          [...a.observed!.slots(Infinity)].map((s) => a.observed!.pos[s]),
          [8, 9, 10, 11],
        );
        let qe = 0;
        let qm = 0;
        for (const pos of [8, 9, 10, 11]) {
          const x = a.observed!.q[0].subarray((pos % len) * qDim, ((pos % len) + 1) * qDim);
          const y = b.observed!.q[0].subarray((pos % 4) * qDim, ((pos % 4) + 1) * qDim);
          for (let j = 0; j < qDim; j++) {
            qe = Math.max(qe, Math.abs(x[j] - y[j]));
            qm = Math.max(qm, Math.abs(y[j]));
          }
        }
        assert.ok(qe <= 1e-4 * qm, `queries ${qe} (max ${qm})`);
        assert.notDeepEqual(before, a.observed!.q[0]);
      }
    }
  } finally {
    await ks.dispose();
  }
});

test("SnapKV through the engine: 300 tokens at a 64 budget in bounded memory", async () => {
  const llm = await loadLLM(path, { contextSize: 512, blockSize: 16, parallel: 1, threads: 1 });
  try {
    const policy = new SnapKV(64, 32, 8);
    const lens: number[] = [];
    const sel = policy.selectPerHead.bind(policy);
    policy.selectPerHead = (len: number, scores: Float64Array[][]) => {
      lens.push(len);
      const k = sel(len, scores);
      for (const layer of k) for (const h of layer) assert.equal(h.length, 32);
      return k;
    };
    await assertEvictingRun(llm, policy, 16);
    assert.ok(lens.length >= 8, `${lens.length} evictions`);
    for (const l of lens) assert.equal(l, 63); // the budget's last slot is the pending sampled token
  } finally {
    await llm.close();
  }
});

test("SnapKV's rewritten blocks never reach the prefix cache: the kept token list as a new prompt adopts nothing", async () => {
  // After a per-head eviction the sequence's token list keeps only its newest tokens while each
  // head's rows hold other positions, so publishing those blocks under that list would hand a
  // later request KV that is not a prefill of its tokens (docs/kv-eviction.md).
  const opts = { contextSize: 512, blockSize: 16, parallel: 1, threads: 1 };
  const llm = await loadLLM(path, opts);
  const fresh = await loadLLM(path, opts);
  try {
    const p = prompt(20, 4);
    const toks: number[] = [];
    let dropped = 0;
    for await (const ch of llm.generate(p, {
      maxTokens: 200,
      temperature: 0,
      ignoreEos: true,
      eviction: new SnapKV(64, 32, 8),
    }))
      if (ch.type === "token") toks.push(ch.token);
      else if (ch.type === "done") dropped = ch.droppedTokens ?? 0;
    assert.ok(dropped > 64, `dropped ${dropped}`);
    // The list the sequence ended with (its last token's KV was never computed). Only this list:
    // greedy decoding on random weights repeats itself, so a shorter suffix may legitimately share
    // blocks with this request's own published prompt.
    const kept = [...p, ...toks].slice(dropped);
    const a = await llm.complete(kept, { maxTokens: 12, temperature: 0, ignoreEos: true });
    const b = await fresh.complete(kept, { maxTokens: 12, temperature: 0, ignoreEos: true });
    assert.equal(a.usage.cachedTokens, 0, `${kept.length} tokens: ${a.usage.cachedTokens} adopted`);
    assert.deepEqual(a.choices[0].tokens, b.choices[0].tokens);
  } finally {
    await llm.close();
    await fresh.close();
  }
});
