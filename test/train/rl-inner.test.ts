/**
 * GRPO with PPO-style reuse of each sampled batch (`inner` > 1) and the choice of prompt shapes:
 *  - the clipped surrogate's per-token weights against central differences of the objective in
 *    log-probability, with ratios on both sides of the clip range and advantages of both signs
 *    (the clipped tokens carry only the KL term);
 *  - on a tiny task, inner iterations start at ratio 1 (nothing clipped), raise the surrogate
 *    within a step, and move the policy further per sampled batch than one update;
 *  - shapes of real corpus keys and the band selection (only mixed prompts of in-band shapes).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { Rng } from "../../src/sampling/rng.js";
import { initParams, paramLayout } from "../../src/train/model/params.js";
import type { TrainModelConfig } from "../../src/train/model/config.js";
import { fdCheck } from "./fd-check.js";
import { packSequences } from "../../src/train/rl/sequences.js";
import { grpoWeights } from "../../src/train/rl/grpo-loss.js";
import { runGrpo } from "../../src/train/rl/grpo.js";
import { modelSampler } from "../../src/train/rl/sampler.js";
import { parseBand, parseShapes, problemShape, selectInBand, shapeRates } from "../../src/train/rl/shapes.js";
import { generateDataset } from "../../src/train/data/generate.js";
import { V2_MODEL_DATA } from "../../src/train/presets.js";
import { decoder, rlPrompts } from "../../src/train/rl/stages.js";
import { buildVocab } from "../../src/train/bpe/vocab.js";
import { importGGUF } from "../../src/train/import.js";
import { DEFAULT_MODEL_PATH } from "../../src/cli/default-model.js";

test("clipped GRPO weights = dJ/dlogp by central differences, on both sides of the clip range", () => {
  const T = 8;
  const batch = packSequences(
    [
      { prompt: [1, 2], completion: [3, 4, 5, 6, 7] },
      { prompt: [2], completion: [8, 9, 1, 2, 3] },
    ],
    2,
    T,
    0,
  );
  const cfg = { clip: 0.2, beta: 0.05 };
  const adv = [1.2, -0.7];
  const old = new Float64Array(2 * T).map((_, i) => -1 - 0.1 * i);
  const ref = new Float64Array(2 * T).map((_, i) => -1.2 - 0.07 * i);
  // log ratios per completion token: inside (±0.05), above 1+e (0.4), below 1-e (-0.5)
  const shifts = [0.05, 0.4, -0.5, -0.05, 0.3];
  const logp = Float64Array.from(old);
  for (const s of batch.spans) for (let n = s.start; n < s.end; n++) logp[n] += shifts[(n - s.start) % 5];
  const terms = grpoWeights(batch, adv, logp, old, ref, cfg);
  // A > 0 clips ratio 1.49 and 1.35 (2 tokens); A < 0 clips ratio 0.61 (1 token): 3 of 10
  assert.equal(terms.clipped, 3 / 10);
  const J = () => grpoWeights(batch, adv, logp, old, ref, cfg).objective;
  const idx = batch.spans.flatMap((s) => Array.from({ length: s.end - s.start }, (_, i) => s.start + i));
  fdCheck("dJ/dlogp", logp, terms.weights, J, { h: 1e-6, tol: 1e-5, floor: 1e-4, idx });
  // signs: an unclipped token of a good sample is pushed up, of a bad one down
  const s0 = batch.spans[0];
  const s1 = batch.spans[1];
  assert.ok(terms.weights[s0.start] > 0 && terms.weights[s1.start] < 0);
  // a clipped token (A > 0, ratio 1.49) keeps only the KL pull: -beta (1 - ref/pi) / (|o| nSeq)
  const n = s0.start + 1;
  const kl = (-cfg.beta * (1 - Math.exp(ref[n] - logp[n]))) / (5 * 2);
  assert.ok(Math.abs(terms.weights[n] - kl) < 1e-7, `${terms.weights[n]} vs ${kl}`);
});

const tiny: TrainModelConfig = {
  vocab: 11,
  dim: 16,
  layers: 1,
  heads: 2,
  kvHeads: 1,
  ffn: 32,
  ctx: 8,
  ropeBase: 10000,
  normEps: 1e-5,
  tied: true,
};
const reward = (c: number[]) => (c[0] === 5 ? 1 : 0);

async function bandit(inner: number, steps: number, warmup?: number) {
  const layout = paramLayout(tiny);
  const init = new Float32Array(layout.total);
  initParams(init, layout, tiny, new Rng(7));
  const r = await runGrpo({
    config: tiny,
    init,
    prompts: [{ ids: [1, 2], answer: "5" }],
    sampler: modelSampler(tiny, 10, 0),
    reward,
    pad: 0,
    steps,
    promptsPerStep: 2,
    group: 8,
    lr: 1e-2,
    inner,
    warmup,
    maxTokens: 1,
    seqLen: 4,
    seed: 3,
    threads: 1,
  });
  const after = await modelSampler(tiny, 10, 0).sample(r.params, [[1, 2]], 128, {
    temperature: 1,
    maxTokens: 1,
    seed: 99,
  });
  return { ...r, acc: after[0].filter((c) => reward(c) === 1).length / 128 };
}

test("GRPO inner iterations: ratio 1 first, the surrogate rises within a step, more progress per batch", async () => {
  const one = await bandit(1, 6);
  const four = await bandit(4, 6);
  const trained = four.history.filter((h) => h.trained > 0);
  assert.ok(trained.length >= 3, `${trained.length} steps with signal`);
  for (const h of trained) {
    assert.equal(h.inner?.length, 4);
    assert.equal(h.inner![0].clipped, 0, "the first inner iteration is on-policy");
    assert.ok(h.inner![3].objective > h.inner![0].objective, `surrogate ${JSON.stringify(h.inner)}`);
  }
  assert.ok(one.history.every((h) => h.inner === undefined));
  assert.ok(four.acc > one.acc + 0.1, `inner 4: ${four.acc}, inner 1: ${one.acc}`);
  await assert.rejects(() => bandit(0, 1), InputError);
});

test("GRPO warmup: the first update moves the weights by lr / warmup (Adam's first step is ~lr per weight)", async () => {
  const layout = paramLayout(tiny);
  const init = new Float32Array(layout.total);
  initParams(init, layout, tiny, new Rng(7));
  const maxMove = (p: Float32Array) => p.reduce((m, x, i) => Math.max(m, Math.abs(x - init[i])), 0);
  const plain = await bandit(1, 1);
  const warm = await bandit(1, 1, 10);
  assert.equal(plain.history[0].trained > 0, true, "the first step carries a signal");
  const a = maxMove(plain.params);
  const b = maxMove(warm.params);
  assert.ok(a > 0.5e-2 && a < 1.1e-2, `first update without warmup moves at most ~lr: ${a}`);
  assert.ok(Math.abs(b / a - 0.1) < 0.01, `warmup 10: ${b} vs ${a}`);
});

test("problem shapes of corpus keys; bad shapes and bands are typed errors", () => {
  assert.equal(problemShape("mul:93:858"), "3x2");
  assert.equal(problemShape("mul:2:57"), "2x1");
  assert.equal(problemShape("word2:10:463+9+49"), "word2");
  assert.equal(problemShape("word2:2:778-688"), "word1");
  assert.throws(() => problemShape("chat:3"), InputError);
  // every × of the v2 corpus: the shape's digit counts are those of the numbers in the question
  const d = generateDataset({ ...V2_MODEL_DATA, counts: { train: 300, val: 0, test: 0 } });
  const muls = d.train.filter((e) => e.kind === "mul" && e.messages[0].role === "user");
  assert.ok(muls.length > 30);
  for (const e of muls) {
    const nums = (e.messages[0].content.match(/\d+/g) ?? []).map((x) => x.length).sort();
    const [a, b] = problemShape(e.key).split("x").map(Number);
    assert.deepEqual([a, b].sort(), nums, `${e.key}: ${e.messages[0].content}`);
    assert.ok(a >= b, `${e.key}: the first factor is the longer one`);
  }
  assert.deepEqual(parseShapes("3x2, word2"), ["3x2", "word2"]);
  assert.throws(() => parseShapes("3*2"), InputError);
  assert.throws(() => parseShapes(""), InputError);
  assert.deepEqual(parseBand("0.15,0.85"), [0.15, 0.85]);
  for (const bad of ["0.9,0.1", "0.2", "-1,0.5", "0.1,x"]) assert.throws(() => parseBand(bad), InputError);
});

test("band selection keeps the mixed prompts of the shapes whose pooled pass rate is in the band", () => {
  const shapes = ["3x2", "3x2", "3x2", "3x3", "3x3", "word2", "2x1"];
  const rates = [0.5, 1, 0, 0, 0.125, 0.5, 0.875];
  const band: [number, number] = [0.15, 0.85];
  // 3x2 pooled 0.5 (in), 3x3 0.0625 (out), word2 0.5 (in), 2x1 0.875 (out)
  assert.deepEqual(
    shapeRates(shapes, rates, band).map((r) => [r.shape, r.prompts, r.inBand]),
    [
      ["2x1", 1, false],
      ["3x2", 3, true],
      ["3x3", 2, false],
      ["word2", 1, true],
    ],
  );
  assert.deepEqual(selectInBand(shapes, rates, band), [0, 5]);
  // the whole range keeps every mixed prompt
  assert.deepEqual(selectInBand(shapes, rates, [0, 1]), [0, 4, 5, 6]);
  assert.throws(() => shapeRates(shapes, rates.slice(1), band), InputError);
});

test("RL prompts of + and − by digits: --shapes add5,sub6 keeps only those", async () => {
  const vocab = buildVocab((await importGGUF(DEFAULT_MODEL_PATH.replace(/q8_0\.gguf$/, "f32.gguf"))).bpe);
  const data = { ...V2_MODEL_DATA, addSubDigits: 6 };
  const ps = rlPrompts(vocab, data, 40, ["add", "sub"], { shapes: ["add5", "sub6"], heldOut: V2_MODEL_DATA });
  assert.equal(ps.length, 40);
  assert.deepEqual([...new Set(ps.map((p) => p.shape))].sort(), ["add5", "sub6"]);
  const text = decoder(vocab);
  for (const p of ps) {
    // the shape's digits are those of the question's longer operand
    const q = text(p.ids);
    const longest = Math.max(...(q.match(/\d+/g) ?? []).map((x) => x.length));
    assert.equal(longest, Number(p.shape?.slice(3)), `${p.shape}: ${q}`);
  }
});
