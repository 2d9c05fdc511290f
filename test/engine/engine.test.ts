// Continuous batching must not change results: every sequence's greedy tokens equal a plain
// one-sequence Transformer.forward loop, whatever else shares the step, whatever the chunking,
// preemptions or prefix-cache reuse. Plus abort frees blocks and bad input is typed.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { Engine, type EngineOptions } from "../../src/engine/engine.js";
import { forwardBatch } from "../../src/engine/batch-forward.js";
import type { DoneEvent, SequenceRequest } from "../../src/engine/types.js";
import type { Transformer } from "../../src/model/index.js";
import { prompt, smallModel } from "./helpers.js";

const m = await smallModel();
after(() => m.cleanup());

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
}

/** Reference: greedy loop over Transformer.forward with a dense cache. */
function greedyAlone(model: Transformer, ids: number[], n: number): number[] {
  const cache = model.newCache(ids.length + n);
  let logits = model.forward(ids, cache)[0];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(argmax(logits));
    if (i + 1 < n) logits = model.forward([out[i]], cache)[0];
  }
  return out;
}

async function run(engine: Engine, req: SequenceRequest): Promise<{ tokens: number[]; done: DoneEvent }> {
  const tokens: number[] = [];
  for await (const ev of engine.submit(req)) {
    if (ev.type === "token") tokens.push(ev.token);
    else return { tokens, done: ev };
  }
  throw new Error("stream ended without done");
}

const greedy = (p: number[], maxTokens: number, extra: Partial<SequenceRequest> = {}): SequenceRequest => ({
  prompt: p,
  maxTokens,
  sampling: { temperature: 0 },
  ignoreEos: true,
  ...extra,
});

// The model's matrix products may pick their summation order by batch size (as ggml does:
// vec_dot for one row, tinyBLAS for many), so logits agree to float rounding, not bit for bit.
function close(a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  assert.ok(d <= 1e-4, `max |dlogit| ${d}`);
}

test("forwardBatch: mixed prefill/decode segments give the single-sequence logits", () => {
  const a = prompt(7, 1);
  const b = prompt(12, 2);
  const refA = m.model.newCache(32);
  const refB = m.model.newCache(32);
  const la = m.model.forward(a, refA, [2, 6]);
  const lb0 = m.model.forward(b.slice(0, 5), refB)[0];
  const lb1 = m.model.forward(b.slice(5), refB)[0];
  const ca = m.model.newCache(32);
  const cb = m.model.newCache(32);
  const [x0, y0] = forwardBatch(m.model, [
    { tokens: a, cache: ca, outputs: [2, 6] },
    { tokens: b.slice(0, 5), cache: cb, outputs: [4] },
  ]);
  close(x0[0], la[0]);
  close(x0[1], la[1]);
  close(y0[0], lb0);
  const [, y1] = forwardBatch(m.model, [
    { tokens: [5], cache: ca, outputs: [] },
    { tokens: b.slice(5), cache: cb, outputs: [6] },
  ]);
  close(y1[0], lb1);
  assert.equal(ca.length, 8);
});

const cases = [prompt(5, 11), prompt(40, 12), prompt(3, 13), prompt(70, 14), prompt(17, 15), prompt(33, 16)];
const N = 12;
const expected = cases.map((p) => greedyAlone(m.model, p, N));

async function allConcurrent(opts: EngineOptions) {
  const engine = new Engine(m.model, m.tokenizer, { contextSize: 128, ...opts });
  const results = await Promise.all(cases.map((p) => run(engine, greedy(p, N))));
  results.forEach((r, i) => {
    assert.deepEqual(r.tokens, expected[i], `sequence ${i}`);
    assert.equal(r.done.reason, "length");
  });
  assert.equal(engine.stats().kv.used, 0, "all blocks returned");
  return engine;
}

test("6 concurrent sequences (3 slots, chunked prefill) equal each one alone", async () => {
  const e = await allConcurrent({ parallel: 3, prefillChunk: 8, maxBatchTokens: 20, blockSize: 4 });
  assert.ok(e.stats().steps > 10);
});

test("a KV pool too small for everyone preempts and still gives identical outputs", async () => {
  const e = await allConcurrent({ parallel: 6, blockSize: 8, kvBlocks: 14, prefillChunk: 16 });
  assert.ok(e.scheduler.preemptions > 0, "expected preemption with 14 blocks");
});

test("prefix cache: the same prompt again reuses its full blocks and gives the same tokens", async () => {
  const engine = new Engine(m.model, m.tokenizer, { contextSize: 128, blockSize: 8, parallel: 2 });
  const p = cases[3]; // 70 tokens -> 8 full blocks; reuse floor(69/8)=8 blocks = 64 tokens
  const first = await run(engine, greedy(p, N));
  assert.equal(first.done.cachedTokens, 0);
  const second = await run(engine, greedy(p, N));
  assert.equal(second.done.cachedTokens, 64);
  assert.deepEqual(second.tokens, expected[3]);
  // A chat's next turn: the old prompt + answer + more tokens shares the old blocks too.
  const next = [...p, ...first.tokens, ...prompt(9, 99)];
  const third = await run(engine, greedy(next, 4));
  // The first sequence computed 70 + 11 positions (its last sampled token was never fed back): 10 full blocks.
  assert.equal(third.done.cachedTokens, 80);
  assert.deepEqual(third.tokens, greedyAlone(m.model, next, 4));
  assert.ok(engine.stats().kv.prefixHits > 0);
});

test("abort mid-generation ends the stream with 'abort' and frees its blocks", async () => {
  const engine = new Engine(m.model, m.tokenizer, { contextSize: 128, blockSize: 4 });
  const ac = new AbortController();
  const tokens: number[] = [];
  let done: DoneEvent | undefined;
  for await (const ev of engine.submit(greedy(cases[1], 100, { signal: ac.signal }))) {
    if (ev.type === "token") {
      tokens.push(ev.token);
      if (tokens.length === 3) ac.abort();
    } else done = ev;
  }
  assert.equal(done?.reason, "abort");
  assert.ok(tokens.length < 10);
  await engine.idle();
  assert.equal(engine.stats().kv.used, 0);
  assert.equal(engine.stats().running, 0);
});

test("a consumer that stops iterating cancels its sequence", async () => {
  const engine = new Engine(m.model, m.tokenizer, { contextSize: 128 });
  let n = 0;
  for await (const ev of engine.submit(greedy(cases[0], 100))) if (ev.type === "token" && ++n === 2) break;
  await engine.idle();
  assert.equal(engine.stats().kv.used, 0);
});

test("seeded sampling is reproducible and independent of batch neighbours", async () => {
  const engine = new Engine(m.model, m.tokenizer, { contextSize: 128, parallel: 4 });
  const req = (seed: number): SequenceRequest => ({
    prompt: cases[0],
    maxTokens: 10,
    sampling: { temperature: 1, seed },
    ignoreEos: true,
  });
  const alone = await run(engine, req(7));
  const [a, , b] = await Promise.all([run(engine, req(7)), run(engine, req(8)), run(engine, req(7))]);
  assert.deepEqual(a.tokens, alone.tokens);
  assert.deepEqual(b.tokens, alone.tokens);
  assert.equal(alone.done.seed, 7);
});

test("logprobs: chosen token's logprob and top alternatives", async () => {
  const engine = new Engine(m.model, m.tokenizer, { contextSize: 128 });
  const evs = [];
  for await (const ev of engine.submit(greedy(cases[0], 3, { logprobs: 4 }))) evs.push(ev);
  const t = evs[0];
  assert.equal(t.type, "token");
  if (t.type !== "token") return;
  assert.equal(t.top!.length, 4);
  assert.equal(t.top![0].id, t.token); // greedy picks the most likely
  assert.ok(t.logprob!.logprob <= 0);
});

test("bad requests are typed errors", () => {
  const engine = new Engine(m.model, m.tokenizer, { contextSize: 64, kvBlocks: 4, blockSize: 16 });
  assert.throws(() => engine.submit(greedy([], 4)), InputError);
  assert.throws(() => engine.submit(greedy(prompt(64, 1), 4)), InputError);
  assert.throws(() => engine.submit(greedy([1, 100000], 4)), InputError);
  assert.throws(() => engine.submit(greedy([1, 2], 0)), InputError);
  assert.throws(() => new Engine(m.model, m.tokenizer, { parallel: 0 }), InputError);
});
