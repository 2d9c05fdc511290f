import { test } from "node:test";
import assert from "node:assert/strict";
import { Candidates } from "../../src/sampling/candidates.js";
import { MinP, Penalties, Temperature, TopK, TopP, tokenCounts } from "../../src/sampling/processors.js";
import { Sampler } from "../../src/sampling/sampler.js";
import { Rng } from "../../src/sampling/rng.js";
import { tokenLogprobs, logSumExp } from "../../src/sampling/logprobs.js";
import { resolveSampling } from "../../src/sampling/params.js";
import { InputError } from "../../src/errors.js";

const L = Float32Array.from([2, -1, 0.5, 3, -2, 1]);
const live = (c: Candidates) => Array.from(c.ids.subarray(0, c.size)).sort((a, b) => a - b);

test("penalties follow llama.cpp: divide positive, multiply non-positive, then freq*count + presence", () => {
  const c = Candidates.fromLogits(L);
  const p = new Penalties({ repeat: 2, frequency: 0.5, presence: 0.25 }, 64);
  p.setHistory([0, 0, 1, 4, 4, 4]);
  p.apply(c);
  assert.equal(c.logits[0], 2 / 2 - 2 * 0.5 - 0.25);
  assert.equal(c.logits[1], -1 * 2 - 1 * 0.5 - 0.25);
  assert.equal(c.logits[4], -2 * 2 - 3 * 0.5 - 0.25);
  assert.equal(c.logits[3], 3); // not in history
});

test("penalty window counts only the last N tokens; -1 counts all", () => {
  assert.deepEqual(
    [...tokenCounts([1, 1, 2, 3], 2)],
    [
      [2, 1],
      [3, 1],
    ],
  );
  assert.deepEqual(
    [...tokenCounts([1, 1, 2], -1)],
    [
      [1, 2],
      [2, 1],
    ],
  );
  const c = Candidates.fromLogits(L);
  const p = new Penalties({ repeat: 2, frequency: 0, presence: 0 }, 0);
  p.setHistory([0]);
  p.apply(c);
  assert.equal(c.logits[0], 2); // window 0 = off
});

test("top-k / top-p / min-p keep the documented sets", () => {
  let c = Candidates.fromLogits(L);
  new TopK(2).apply(c);
  assert.deepEqual(live(c), [0, 3]);
  c = Candidates.fromLogits(L);
  new TopP(0.7).apply(c); // p(3)=0.62, then id 0 brings it to 0.85
  assert.deepEqual(live(c), [0, 3]);
  c = Candidates.fromLogits(L);
  new MinP(Math.exp(-1.5)).apply(c); // logits >= 3 - 1.5
  assert.deepEqual(live(c), [0, 3]);
  c = Candidates.fromLogits(L);
  new TopK(1, 3).apply(c); // min_keep wins over k
  assert.equal(c.size, 3);
});

test("temperature scales; 0 keeps only the argmax (ties to the lowest id)", () => {
  let c = Candidates.fromLogits(L);
  new Temperature(0.5).apply(c);
  assert.equal(c.logits[3], 6);
  c = Candidates.fromLogits(Float32Array.from([1, 5, 5, 0]));
  new Temperature(0).apply(c);
  assert.deepEqual(live(c), [1]);
});

test("sampler: greedy = argmax after bias; same seed -> same sequence; different seed differs", () => {
  const g = new Sampler({ temperature: 0, logitBias: { 5: 10 } });
  assert.equal(g.sample(L), 5);
  const logits = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i) * 2);
  const draw = (seed: number) => {
    const s = new Sampler({ temperature: 1, seed });
    return Array.from({ length: 40 }, () => s.sample(logits));
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
});

test("sampler draws match the softmax distribution (chi-square, fixed seed)", () => {
  const logits = Float32Array.from([0, 1, 2, 0.5]);
  const s = new Sampler({ temperature: 1, seed: 1 });
  const N = 20000;
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < N; i++) counts[s.sample(logits)]++;
  const lse = logSumExp(logits);
  let chi = 0;
  for (let i = 0; i < 4; i++) {
    const e = N * Math.exp(logits[i] - lse);
    chi += (counts[i] - e) ** 2 / e;
  }
  assert.ok(chi < 16.3, `chi2 ${chi} (3 dof, p=0.001)`);
});

test("top_p chain never samples outside the nucleus", () => {
  const s = new Sampler({ temperature: 1.5, topP: 0.7, seed: 3 });
  for (let i = 0; i < 300; i++) assert.ok([0, 3].includes(s.sample(L)));
});

test("rng: deterministic, uniform mean, handles big/negative seeds", () => {
  const a = new Rng(123);
  const b = new Rng(123);
  let sum = 0;
  for (let i = 0; i < 10000; i++) {
    const x = a.next();
    assert.equal(x, b.next());
    assert.ok(x >= 0 && x < 1);
    sum += x;
  }
  assert.ok(Math.abs(sum / 10000 - 0.5) < 0.02);
  assert.notEqual(new Rng(2 ** 40).next(), new Rng(0).next());
  assert.ok(new Rng(-5).next() >= 0);
  assert.throws(() => new Rng(1.5), InputError);
});

test("logprobs: log softmax of raw logits, top list descending", () => {
  const { chosen, top } = tokenLogprobs(L, 1, 3);
  const lse = Math.log(Array.from(L).reduce((s, x) => s + Math.exp(x), 0));
  assert.ok(Math.abs(chosen.logprob - (-1 - lse)) < 1e-12);
  assert.deepEqual(
    top.map((t) => t.id),
    [3, 0, 5],
  );
  assert.ok(top[0].logprob > top[1].logprob);
  assert.equal(tokenLogprobs(L, 0, 0).top.length, 0);
});

test("bad parameters are typed errors", () => {
  assert.throws(() => resolveSampling({ temperature: -1 }), InputError);
  assert.throws(() => resolveSampling({ topP: 0 }), InputError);
  assert.throws(() => resolveSampling({ frequencyPenalty: 3 }), InputError);
  assert.throws(() => resolveSampling({ logitBias: { x: 1 } }), InputError);
  assert.throws(() => resolveSampling({ logitBias: { 99: 1 } }, 10), InputError);
  assert.throws(() => resolveSampling({ temperature: NaN }), InputError);
});
