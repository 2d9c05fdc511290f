/**
 * The reasoning-training stages: the RL (GRPO) and distillation losses against central finite
 * differences on a float64 model, GRPO and rejection sampling on a tiny task where the reward
 * provably rises, distillation pulling a student onto its teacher, and the process verifier on
 * the column format (every generated step verifies; one corrupted digit is found on its line).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/sampling/rng.js";
import { LlamaTrainModel } from "../../src/train/model/llama.js";
import { initParams, paramLayout } from "../../src/train/model/params.js";
import type { TrainModelConfig } from "../../src/train/model/config.js";
import { fdCheck } from "./fd-check.js";
import { StreamPacker, packSequences } from "../../src/train/rl/sequences.js";
import { groupAdvantages, grpoWeights } from "../../src/train/rl/grpo-loss.js";
import { runGrpo } from "../../src/train/rl/grpo.js";
import { mixedPrompts } from "../../src/train/rl/stages.js";
import { modelSampler, type Sampler } from "../../src/train/rl/sampler.js";
import { rejectionSample } from "../../src/train/rl/rejection.js";
import {
  checkSameVocabulary,
  cutAtDeviation,
  hardLabels,
  teacherTop1,
  runDistill,
  streamProblems,
} from "../../src/train/rl/distill.js";
import { generateDataset, splitOf } from "../../src/train/data/generate.js";
import { V2_MODEL_DATA } from "../../src/train/presets.js";
import { distillCrossEntropy } from "../../src/train/ops/crossentropy.js";
import { train } from "../../src/train/loop.js";
import { InputError, VocabMismatchError } from "../../src/errors.js";
import { checkSteps, columnProcessVerifier, firstError } from "../../src/train/rl/process-verifier.js";
import { columns } from "../../src/train/data/columns.js";
import { thinkAnswer } from "../../src/train/data/problems.js";

const tiny: TrainModelConfig = {
  vocab: 11,
  dim: 8,
  layers: 1,
  heads: 2,
  kvHeads: 1,
  ffn: 12,
  ctx: 8,
  ropeBase: 10000,
  normEps: 1e-5,
  tied: true,
};

function params64(cfg: TrainModelConfig, seed: number, scale = 1): Float64Array {
  const layout = paramLayout(cfg);
  const p = new Float64Array(layout.total);
  initParams(p, layout, cfg, new Rng(seed));
  // larger weights than the 0.02 init, so logits vary and every term of the gradient matters
  for (let i = 0; i < p.length; i++)
    if (layout.entries.find((e) => i >= e.offset && i < e.offset + e.size)!.decay) p[i] *= scale;
  return p;
}

/** Central differences at sampled entries: relative error below 1e-4, gradients near 0 compared
 *  absolutely below 1e-3. */
const FD = { tol: 1e-4, floor: 1e-3 };

const pick = (n: number, k: number, seed: number) => {
  const r = new Rng(seed);
  return Array.from({ length: k }, () => Math.floor(r.uniform() * n));
};

test("GRPO loss: weighted-CE gradient equals -dJ/dθ of the clipped objective with KL (finite differences)", () => {
  const B = 2;
  const T = 6;
  const p = params64(tiny, 1, 25);
  const m = new LlamaTrainModel(tiny, B, T, Float64Array, p);
  const batch = packSequences(
    [
      { prompt: [1, 2], completion: [3, 4, 5, 6] },
      { prompt: [2, 7, 1], completion: [8, 9] },
    ],
    B,
    T,
    0,
  );
  const logp = () => m.logprobs(batch.tokens, batch.targets);
  // reference and sampling policies: other weights (ratio != 1 but inside the clip range)
  const pRef = params64(tiny, 2, 25);
  const ref = new LlamaTrainModel(tiny, B, T, Float64Array, pRef).logprobs(batch.tokens, batch.targets);
  const saved = Float64Array.from(p);
  for (let i = 0; i < p.length; i++) p[i] += 1e-3 * Math.sin(i);
  const old = logp();
  p.set(saved);
  const adv = [0.9, -1.3];
  const cfg = { clip: 0.2, beta: 0.1 };
  const J = () => grpoWeights(batch, adv, logp(), old, ref, cfg).objective;
  const terms = grpoWeights(batch, adv, logp(), old, ref, cfg);
  assert.equal(terms.clipped, 0);
  m.zeroGrad();
  m.forward(batch.tokens, batch.targets, undefined, undefined, { weights: terms.weights });
  m.backward();
  const negJ = () => -J();
  fdCheck("dL/dθ", p, m.grads, negJ, { ...FD, idx: pick(p.length, 60, 3) });
});

test("GRPO advantages are normalised within each group; equal rewards give zero", () => {
  const a = groupAdvantages([1, 0, 0, 1, 1, 1, 1, 1], 4);
  assert.deepEqual(a.slice(4), [0, 0, 0, 0]);
  assert.ok(Math.abs(a[0] - 1) < 1e-3 && Math.abs(a[1] + 1) < 1e-3);
});

test("distillation loss: hand-computed values and logit gradients (2 tokens, tau 1 and 2)", () => {
  // q = (1/2, 1/2). tau 1, logits (0, ln 3): p = (1/4, 3/4), KL(q||p) = ln(4/3)/2, CE(y=0) = ln 4,
  // alpha 1/2: dlogits = (p - q)/2 + (p - e0)/2 = (-1/2, 1/2).
  // tau 2, logits (0, ln 9): p_2 = (1/4, 3/4), p_1 = (1/10, 9/10), CE(y=1) = -ln 0.9,
  // alpha 1/2: dlogits = 2 (p_2 - q)/2 + (p_1 - e1)/2 = (-1/5, 1/5).
  const q = Float32Array.of(0.5, 0.5);
  const near = (a: number, b: number, what: string) =>
    assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
  for (const [tau, z1, y, ce, g0] of [
    [1, Math.log(3), 0, Math.log(4), -0.5],
    [2, Math.log(9), 1, -Math.log(0.9), -0.2],
  ] as const) {
    const logits = Float64Array.of(0, z1) as unknown as Float32Array;
    const r = distillCrossEntropy(logits, q, Int32Array.of(y), Uint8Array.of(1), 1, 2, 1, logits, tau, 0.5);
    near(r.kl, Math.log(4 / 3) / 2, `KL at tau ${tau}`);
    near(r.ce, ce, `CE at tau ${tau}`);
    near(logits[0], g0, `dlogits[0] at tau ${tau}`);
    near(logits[1], -g0, `dlogits[1] at tau ${tau}`);
  }
  // masked positions give no loss and a zero gradient; denom divides the gradient
  const two = Float64Array.of(0, Math.log(3), 5, -5) as unknown as Float32Array;
  const r = distillCrossEntropy(
    two,
    Float32Array.of(0.5, 0.5, 0.5, 0.5),
    null,
    Uint8Array.of(1, 0),
    2,
    2,
    4,
    two,
    1,
    1,
  );
  near(r.kl, Math.log(4 / 3) / 2, "KL with a masked row");
  assert.deepEqual([two[2], two[3]], [0, 0]);
  near(two[0], -1 / 16, "dlogits / denom");
  assert.throws(
    () => distillCrossEntropy(two, q, null, Uint8Array.of(1), 1, 2, 1, null, 1, 0.5),
    /gold targets/,
  );
});

test("distillation loss (tau 2, alpha 0.7): value = an independent KL + CE from the logits; gradient = finite differences", () => {
  const B = 2;
  const T = 5;
  const V = tiny.vocab;
  const p = params64(tiny, 4, 25);
  const m = new LlamaTrainModel(tiny, B, T, Float64Array, p);
  const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % V);
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 3 + 1) % V);
  const mask = Uint8Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? 0 : 1));
  const teacher = new LlamaTrainModel(tiny, B, T, Float64Array, params64(tiny, 5, 25));
  const [tau, alpha] = [2, 0.7];
  // the teacher's soft targets and the reference loss straight from both models' logits
  const softmax = (z: ArrayLike<number>, o: number, t: number) => {
    const e = Array.from({ length: V }, (_, i) => Math.exp(z[o + i] / t));
    const s = e.reduce((a, b) => a + b);
    return e.map((x) => x / s);
  };
  teacher.forward(tokens);
  const tl = Float64Array.from(teacher.lastLogits);
  const soft = new Float32Array(B * T * V);
  for (let n = 0; n < B * T; n++) soft.set(softmax(tl, n * V, tau), n * V);
  m.forward(tokens);
  const sl = Float64Array.from(m.lastLogits);
  let ref = 0;
  let count = 0;
  for (let n = 0; n < B * T; n++) {
    if (!mask[n]) continue;
    count++;
    const ps = softmax(sl, n * V, tau);
    let kl = 0;
    for (let i = 0; i < V; i++) kl += soft[n * V + i] * Math.log(soft[n * V + i] / ps[i]);
    ref += alpha * tau * tau * kl - (1 - alpha) * Math.log(softmax(sl, n * V, 1)[targets[n]]);
  }
  const loss = () => m.forward(tokens, targets, mask, undefined, { soft, temperature: tau, alpha });
  m.zeroGrad();
  const got = loss();
  assert.ok(
    Math.abs(got - ref / count) < 1e-6 * Math.abs(ref / count),
    `loss ${got} vs reference ${ref / count}`,
  );
  m.backward();
  fdCheck("dL/dθ", p, m.grads, loss, { ...FD, idx: pick(p.length, 60, 6) });
  for (const t of [1, 2]) {
    const self = Float32Array.from(m.probs(tokens, t));
    const none = new Int32Array(B * T);
    assert.ok(Math.abs(m.forward(tokens, none, mask, undefined, { soft: self, temperature: t })) < 1e-6);
  }
});

test("distillation: another tokenizer is a VocabMismatchError; alpha 0 needs no teacher and is the SFT loop", async () => {
  const bpe = (extra: number[]) => ({
    merges: [[97, 98]] as [number, number][],
    tokenBytes: [...Array.from({ length: 256 }, (_, i) => Uint8Array.of(i)), Uint8Array.from(extra)],
  });
  checkSameVocabulary(bpe([97, 98]), bpe([97, 98]));
  assert.throws(
    () => checkSameVocabulary(bpe([97, 98]), bpe([98, 97])),
    (e: unknown) => e instanceof VocabMismatchError && e.what === "token 256",
  );
  const cfg = { ...tiny, dim: 16, ffn: 32, ctx: 16 };
  const n = 300;
  const ids = Int32Array.from({ length: n }, (_, i) => (i * 5 + (i >> 3)) % cfg.vocab);
  const data = {
    ids,
    train: Uint8Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 0 : 1)),
    starts: Int32Array.from({ length: 30 }, (_, i) => i * 10),
    pad: 0,
  };
  const common = {
    data,
    batch: 2,
    seqLen: 16,
    steps: 6,
    lr: { maxLr: 1e-2, minLr: 1e-3, warmup: 2 },
    seed: 3,
    threads: 1,
  };
  await assert.rejects(
    runDistill({
      ...common,
      student: cfg,
      teacher: { ...cfg, vocab: 12 },
      teacherParams: new Float32Array(1),
    }),
    (e: unknown) => e instanceof VocabMismatchError,
  );
  const twin = await runDistill({ ...common, student: cfg, alpha: 0 });
  const sft = await train({ ...common, config: cfg, clip: 1 });
  assert.deepEqual(Array.from(twin.params), Array.from(sft.model.params));
});

/** Tiny bandit: after prompt [1, 2] the reward is 1 iff the first completion token is 5. */
const banditReward = (c: number[]) => (c[0] === 5 ? 1 : 0);

test("GRPO raises the reward on a tiny task (sampling from the policy itself)", async () => {
  const cfg = { ...tiny, dim: 16, ffn: 32 };
  const layout = paramLayout(cfg);
  const init = new Float32Array(layout.total);
  initParams(init, layout, cfg, new Rng(7));
  const prompt = { ids: [1, 2], answer: "5" };
  const before = await modelSampler(cfg, 10, 0).sample(init, [prompt.ids], 64, {
    temperature: 1,
    maxTokens: 1,
    seed: 99,
  });
  const accBefore = before[0].filter((c) => banditReward(c) === 1).length / 64;
  const r = await runGrpo({
    config: cfg,
    init,
    prompts: [prompt],
    sampler: modelSampler(cfg, 10, 0),
    reward: (c) => banditReward(c),
    pad: 0,
    steps: 30,
    promptsPerStep: 2,
    group: 8,
    lr: 3e-2,
    maxTokens: 1,
    seqLen: 4,
    seed: 1,
    threads: 1,
  });
  const after = await modelSampler(cfg, 10, 0).sample(r.params, [prompt.ids], 64, {
    temperature: 1,
    maxTokens: 1,
    seed: 99,
  });
  const accAfter = after[0].filter((c) => banditReward(c) === 1).length / 64;
  assert.ok(accBefore < 0.3, `before ${accBefore}`);
  assert.ok(accAfter > 0.8, `GRPO: accuracy ${accBefore} -> ${accAfter}`);
  assert.ok(r.history.every((h) => h.kl >= 0));
});

test("rejection sampling keeps only verified, distinct completions, loss on the completion only", async () => {
  const cfg = { ...tiny, dim: 16, ffn: 32 };
  const layout = paramLayout(cfg);
  const init = new Float32Array(layout.total);
  initParams(init, layout, cfg, new Rng(7));
  const prompts = [
    { ids: [1, 2], answer: "5" },
    { ids: [3, 4], answer: "5" },
  ];
  const r = await rejectionSample(init, prompts, modelSampler(cfg, 10, 0), 32, banditReward, 0, {
    temperature: 1,
    maxTokens: 2,
    seed: 3,
  });
  assert.ok(r.accepted > 0 && r.accepted <= r.sampled);
  for (let k = 0; k < r.set.starts.length; k++) {
    const s = r.set.starts[k];
    assert.equal(r.set.train[s], 0);
    assert.equal(r.set.train[s + 2], 1);
    assert.equal(r.set.ids[s + 2], 5); // the first completion token is the rewarded one
  }
});

/** A tiny teacher with sharp (8x) weights and a student of its shape, seeded apart. */
function teacherAndStudent() {
  const cfg = { ...tiny, dim: 16, ffn: 32, ctx: 16 };
  const layout = paramLayout(cfg);
  const teacherP = new Float32Array(layout.total);
  initParams(teacherP, layout, cfg, new Rng(11));
  for (let i = 0; i < teacherP.length; i++) teacherP[i] *= 8;
  const student = new Float32Array(layout.total);
  initParams(student, layout, cfg, new Rng(12));
  return { cfg, teacherP, student };
}

test("distillation pulls the student onto the teacher (KL falls)", async () => {
  const { cfg, teacherP, student } = teacherAndStudent();
  const n = 400;
  const ids = Int32Array.from({ length: n }, (_, i) => (i * 5 + (i >> 3)) % cfg.vocab);
  const data = {
    ids,
    train: new Uint8Array(n).fill(1),
    starts: Int32Array.from({ length: 40 }, (_, i) => i * 10),
    pad: 0,
  };
  const r = await runDistill({
    student: cfg,
    teacher: cfg,
    studentInit: student,
    teacherParams: teacherP,
    data,
    batch: 2,
    seqLen: 16,
    steps: 150,
    lr: { maxLr: 2e-2, minLr: 2e-3, warmup: 2 },
    seed: 1,
    threads: 1,
  });
  const head = r.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const tail = r.losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(tail < head * 0.5, `KL ${head} -> ${tail}`);
});

test("stream packing: sequences end to end, completion targets only, a short rest starts the next row", () => {
  // B 2 rows of T 6, pad 0, at least 2 completion targets per placement
  const p = new StreamPacker(2, 6, 0, 2);
  assert.equal(p.add({ prompt: [1, 2], completion: [3, 4] }), true); // slots 0-3 of row 0
  // rest of row 0: slots 4,5 -> prompt [5,6] would leave no completion target: row 1 instead
  assert.equal(p.add({ prompt: [5, 6], completion: [7, 8, 9, 10, 11] }), false); // 7 tokens cut at 6 slots
  assert.equal(p.add({ prompt: [1], completion: [2] }), false);
  // row 0: 1 2 3 4 | pad pad; targets 2 3 4 (none) ; trained: targets 3 and 4 (positions 1, 2)
  assert.deepEqual(Array.from(p.tokens), [1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(Array.from(p.targets), [2, 3, 4, 0, 0, 0, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(Array.from(p.mask), [0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  assert.equal(p.count, 7);
  assert.deepEqual(p.spans, [
    { start: 1, end: 3 },
    { start: 7, end: 12 },
  ]);
  // two short sequences share a row; the boundary slot is not trained
  const q = new StreamPacker(1, 8, 0, 1);
  q.add({ prompt: [1], completion: [2, 3] });
  q.add({ prompt: [4], completion: [5, 6] });
  assert.deepEqual(Array.from(q.tokens), [1, 2, 3, 4, 5, 6, 0, 0]);
  assert.deepEqual(Array.from(q.mask), [1, 1, 0, 1, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(q.targets.subarray(0, 5)), [2, 3, 0, 5, 6]);
});

test("stream problems: single-turn training-split examples as prompt + gold completion", () => {
  const examples = generateDataset({ ...V2_MODEL_DATA, counts: { train: 400, val: 0, test: 0 } }).train;
  // a byte-level encoder, so ids decode back to the text exactly
  const enc = { encode: (t: string, out: number[] = []) => (out.push(...Buffer.from(t)), out) };
  const text = (ids: number[]) => Buffer.from(ids).toString();
  // a second config whose held-out share is large, so that filter visibly removes problems
  const strict = { ...V2_MODEL_DATA, splitSalt: "another-salt", testPermille: 300 };
  const ps = streamProblems(examples, enc, 0, ["add", "mul"], [V2_MODEL_DATA, strict]);
  const want = examples.filter(
    (e) =>
      (e.kind === "add" || e.kind === "mul") &&
      e.messages.length === 2 &&
      e.messages[0].role === "user" &&
      splitOf(e.key, strict) === "train",
  );
  assert.ok(want.length > 20 && ps.length === want.length, `${ps.length} vs ${want.length}`);
  ps.forEach((p, i) => {
    const [u, a] = want[i].messages;
    assert.equal(text(p.prompt), `<|im_start|>user\n${u.content}<|im_end|>\n<|im_start|>assistant\n`);
    assert.equal(text(p.gold), `${a.content}<|im_end|>`);
  });
});

test("cut at deviation: a completion trains up to its first token that is not the teacher's top one", () => {
  // V 3; one span of 4 positions whose sampled targets are 0 1 2 0; the teacher's top: 0 1 0 0
  const V = 3;
  const top = [0, 1, 0, 0];
  const soft = new Float32Array(4 * V);
  top.forEach((t, n) => {
    soft.fill(0.1, n * V, n * V + V);
    soft[n * V + t] = 0.8;
  });
  const b = { targets: Int32Array.of(0, 1, 2, 0), mask: Uint8Array.of(1, 1, 1, 1) };
  assert.equal(cutAtDeviation(b, soft, [{ start: 0, end: 4 }], V), 3);
  assert.deepEqual(Array.from(b.mask), [1, 1, 1, 0]);
  const agree = { targets: Int32Array.of(0, 1, 0, 0), mask: Uint8Array.of(1, 1, 1, 1) };
  assert.equal(cutAtDeviation(agree, soft, [{ start: 0, end: 4 }], V), 4);
});

test("on-policy distillation: samples come from the current student, alpha must be 1, KL on them falls", async () => {
  const { cfg, teacherP, student } = teacherAndStudent();
  const data = {
    ids: Int32Array.of(1, 2, 3),
    train: Uint8Array.of(0, 1, 1),
    starts: Int32Array.of(0),
    pad: 0,
  };
  const problems = [
    { prompt: [1, 2], gold: [3, 10] },
    { prompt: [4], gold: [5, 6, 10] },
  ];
  const base = {
    student: cfg,
    teacher: cfg,
    studentInit: student,
    teacherParams: teacherP,
    data,
    batch: 2,
    seqLen: 16,
    lr: { maxLr: 2e-2, minLr: 2e-3, warmup: 2 },
    seed: 1,
    threads: 1,
    eot: 10,
  };
  const inner = modelSampler(cfg, 10, 0);
  await assert.rejects(
    runDistill({
      ...base,
      steps: 1,
      alpha: 0.5,
      stream: {
        problems,
        source: "student",
        sampler: inner,
        perRound: 2,
        maxRounds: 2,
        temperature: 1,
        maxTokens: 5,
      },
    }),
    (e: unknown) => e instanceof InputError,
  );
  // a spy: the sampler sees the weights of the step it samples for
  const seen: Float32Array[] = [];
  const spy: Sampler = {
    sample: (params, prompts, n, o) => {
      seen.push(Float32Array.from(params));
      return inner.sample(params, prompts, n, o);
    },
  };
  const stats: { loss: number; positions?: number }[] = [];
  const r = await runDistill({
    ...base,
    steps: 300,
    alpha: 1,
    stream: {
      problems,
      source: "student",
      sampler: spy,
      perRound: 2,
      maxRounds: 3,
      temperature: 1,
      maxTokens: 5,
    },
    onStep: (s) => stats.push(s),
  });
  assert.deepEqual(Array.from(seen[0]), Array.from(student));
  assert.notDeepEqual(Array.from(seen[seen.length - 1]), Array.from(student));
  assert.ok(stats.every((s) => s.positions! > 0));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b) / xs.length;
  const head = mean(r.losses.slice(0, 10));
  const tail = mean(r.losses.slice(-10));
  assert.ok(tail < head * 0.5, `KL on the student's samples ${head} -> ${tail}`);
});

test("mixed stream (goldShare): gold completions train on the hard label, exactly as the gold twin's SFT loss", async () => {
  // hardLabels by hand: V 3, positions 1 and 2 of a span are trained, position 0 is not
  const V = 3;
  const soft = Float32Array.from({ length: 3 * V }, () => 1 / 3);
  hardLabels(
    { targets: Int32Array.of(2, 0, 1), mask: Uint8Array.of(0, 1, 1) },
    soft,
    [{ start: 0, end: 3 }],
    V,
  );
  assert.deepEqual(
    Array.from(soft),
    [1 / 3, 1 / 3, 1 / 3, 1, 0, 0, 0, 1, 0].map((x) => Math.fround(x)),
  );

  const { cfg, teacherP, student } = teacherAndStudent();
  const data = {
    ids: Int32Array.of(1, 2, 3),
    train: Uint8Array.of(0, 1, 1),
    starts: Int32Array.of(0),
    pad: 0,
  };
  const problems = [
    { prompt: [1, 2], gold: [3, 7, 10] },
    { prompt: [4], gold: [5, 6, 10] },
    { prompt: [8, 9, 2], gold: [9, 10] },
  ];
  const base = {
    student: cfg,
    teacher: cfg,
    studentInit: student,
    teacherParams: teacherP,
    data,
    batch: 2,
    seqLen: 16,
    steps: 3,
    lr: { maxLr: 2e-2, minLr: 2e-3, warmup: 2 },
    seed: 3,
    threads: 1,
    eot: 10,
  };
  const stream = { problems, perRound: 3, maxRounds: 4, temperature: 1, maxTokens: 5 };
  const calls: number[] = [];
  const sampler: Sampler = {
    sample: (params, prompts, n, o) => {
      calls.push(prompts.length);
      return modelSampler(cfg, 10, 0).sample(params, prompts, n, o);
    },
  };
  // every pick kept gold: the teacher is run, its rows replaced by one-hots, and the losses are the
  // SFT twin's (alpha 0, no teacher) on the same rows
  const mixed = await runDistill({
    ...base,
    alpha: 1,
    stream: { ...stream, source: "student", sampler, goldShare: 1 - 1e-12 },
  });
  const twin = await runDistill({ ...base, alpha: 0, stream: { ...stream, source: "gold" } });
  assert.equal(calls.length, 0);
  for (let i = 0; i < 3; i++)
    assert.ok(Math.abs(mixed.losses[i] - twin.losses[i]) < 1e-5, `${mixed.losses} vs ${twin.losses}`);
  // half and half: both kinds are packed and the sampler gets only the sampled share
  const stats: { goldSequences?: number; sequences?: number }[] = [];
  await runDistill({
    ...base,
    steps: 6,
    alpha: 1,
    stream: { ...stream, source: "student", sampler, goldShare: 0.5 },
    onStep: (s) => stats.push(s),
  });
  const g = stats.reduce((a, s) => a + s.goldSequences!, 0);
  const all = stats.reduce((a, s) => a + s.sequences!, 0);
  assert.ok(g > 0 && g < all, `${g} gold of ${all}`);
  assert.ok(
    calls.some((n) => n > 0 && n < 3),
    `sampled per round: ${calls}`,
  );
  // the hard label needs tau 1; the twin's stream cannot mix
  for (const bad of [
    { temperature: 2, stream: { ...stream, source: "student" as const, sampler, goldShare: 0.5 } },
    { temperature: 1, stream: { ...stream, source: "gold" as const, goldShare: 0.5 } },
    { temperature: 1, stream: { ...stream, source: "student" as const, sampler, goldShare: 1 } },
  ])
    await assert.rejects(runDistill({ ...base, alpha: 1, ...bad }), (e: unknown) => e instanceof InputError);
});

test("top-1 labels (DAgger): the teacher's choice on each sampled position becomes a hard label", async () => {
  // V 3: position 0 untrained, position 1's teacher top is 2, position 2's top is 0 (tie 0/1: the first)
  const V = 3;
  const soft = Float32Array.of(0.2, 0.5, 0.3, 0.1, 0.3, 0.6, 0.4, 0.4, 0.2);
  teacherTop1({ mask: Uint8Array.of(0, 1, 1) }, soft, [{ start: 0, end: 3 }], V);
  assert.deepEqual(
    Array.from(soft),
    [0.2, 0.5, 0.3, 0, 0, 1, 1, 0, 0].map((x) => Math.fround(x)),
  );

  const { cfg, teacherP, student } = teacherAndStudent();
  const data = {
    ids: Int32Array.of(1, 2, 3),
    train: Uint8Array.of(0, 1, 1),
    starts: Int32Array.of(0),
    pad: 0,
  };
  const stream = {
    problems: [
      { prompt: [1, 2], gold: [3, 10] },
      { prompt: [4], gold: [5, 6, 10] },
    ],
    source: "student" as const,
    sampler: modelSampler(cfg, 10, 0),
    perRound: 2,
    maxRounds: 3,
    temperature: 1,
    maxTokens: 5,
    labels: "top1" as const,
  };
  const base = {
    student: cfg,
    teacher: cfg,
    studentInit: student,
    teacherParams: teacherP,
    data,
    batch: 2,
    seqLen: 16,
    lr: { maxLr: 2e-2, minLr: 2e-3, warmup: 2 },
    seed: 1,
    threads: 1,
    eot: 10,
    alpha: 1,
  };
  // cross-entropy to the teacher's choices on the student's own samples falls
  const r = await runDistill({ ...base, steps: 300, stream });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b) / xs.length;
  const head = mean(r.losses.slice(0, 10));
  const tail = mean(r.losses.slice(-10));
  assert.ok(tail < head * 0.7, `CE to the teacher's top-1 ${head} -> ${tail}`);
  await assert.rejects(
    runDistill({ ...base, steps: 1, temperature: 2, stream }),
    (e: unknown) => e instanceof InputError,
  );
  await assert.rejects(
    runDistill({ ...base, steps: 1, stream: { ...stream, source: "gold" } }),
    (e: unknown) => e instanceof InputError,
  );
});

test("process verifier: every step of generated chains verifies; a corrupted digit is caught on its line", () => {
  for (const fmt of [
    { stripLine: true, mulSwap: true },
    { stripLine: true, mulSwap: true, mulRun: true },
  ])
    for (const lang of ["en", "zh"] as const)
      for (const [op, a, b] of [
        ["+", 4821, 377],
        ["-", 8421, 8420],
        ["-", 377, 4821],
        ["×", 36, 7],
        ["×", 250, 41],
        ["×", 4, 77],
        ["×", 907, 60],
        ["×", 47, 36],
        ["×", 305, 70],
      ] as const) {
        const w = columns(op, a, b, lang, fmt);
        const text = thinkAnswer(w.lines, String(w.result), lang);
        const steps = checkSteps(text);
        assert.equal(
          firstError(steps),
          -1,
          `${a} ${op} ${b} (${lang}): ${JSON.stringify(steps.filter((s) => s.ok === false))}`,
        );
        assert.ok(
          steps.filter((s) => s.ok).length >= w.lines.length - 2,
          `${a} ${op} ${b}: most lines checkable`,
        );
        assert.equal((columnProcessVerifier.verify({ question: "", text }) as { score: number }).score, 1);
      }
  const good = thinkAnswer(columns("+", 4821, 377, "en").lines, "5198", "en");
  const bad = good.replace("8 + 3 + 0 = 11, write 1, carry 1", "8 + 3 + 0 = 12, write 2, carry 1");
  const steps = checkSteps(bad);
  assert.equal(steps[firstError(steps)].line.startsWith("8 + 3 + 0 = 12"), true);
  const v = columnProcessVerifier.verify({ question: "", text: bad }) as { score: number };
  assert.ok(v.score > 0 && v.score < 1);
  assert.equal((columnProcessVerifier.verify({ question: "", text: good }) as { score: number }).score, 1);
  // the failure: 8421 - 8420 answered 000 -> the strip line is wrong
  const strip = checkSteps(
    "<think>\n8421 - 8420\n1 - 0 - 0 = 1, borrow 0, so far 1\n2 - 2 - 0 = 0, borrow 0, so far 01\n4 - 4 - 0 = 0, borrow 0, so far 001\n8 - 8 - 0 = 0, borrow 0, so far 0001\ndrop leading zeros: 0001 → 000\n</think>",
  );
  assert.equal(firstError(strip), 5);
  // run format: a miscopied running total (the v2 model's failure: the first partial product
  // copied wrong into the addition) is caught on its line
  const run = columns("×", 47, 36, "en", { mulRun: true }).lines.join("\n");
  assert.equal(firstError(checkSteps(run)), -1);
  const runBad = checkSteps(run.replace("so far 41, total 282", "so far 41, total 292"));
  assert.equal(
    runBad[firstError(runBad)].line,
    "4 × 3 = 12, 12 + 2 = 14, write 4, carry 1, so far 41, total 292",
  );
  const prodBad = checkSteps(run.replace("4 × 6 = 24, 24 + 4", "4 × 6 = 26, 26 + 4"));
  assert.ok(prodBad[firstError(prodBad)].line.startsWith("4 × 6 = 26"));
  // short clause (no copy of the product): checked the same way, a wrong carry sum is caught
  const short = columns("×", 47, 36, "en", { mulRun: true, mulShort: true }).lines.join("\n");
  assert.ok(short.includes("4 × 6 = 24, + 4 = 28, write 8"));
  assert.equal(firstError(checkSteps(short)), -1);
  const sumBad = checkSteps(short.replace("4 × 6 = 24, + 4 = 28, write 8", "4 × 6 = 24, + 4 = 29, write 9"));
  assert.ok(sumBad[firstError(sumBad)].line.startsWith("4 × 6 = 24, + 4 = 29"));
  // units clause: a carry out without the overflow's + 1 is caught on its line
  const units = columns("×", 469, 57, "en", { mulRun: true, mulUnits: true }).lines.join("\n");
  assert.equal(firstError(checkSteps(units)), -1);
  const carryBad = checkSteps(
    units.replace("write 2, carry 2 + 1 = 3, so far 283", "write 2, carry 2, so far 283"),
  );
  assert.ok(carryBad[firstError(carryBad)].line.startsWith("4 × 7 = 28, 8 + 4 = 12"));
  const unitBad = checkSteps(units.replace("6 × 7 = 42, 2 + 6 = 8", "6 × 7 = 42, 3 + 6 = 9"));
  assert.ok(unitBad[firstError(unitBad)].line.startsWith("6 × 7 = 42, 3 + 6"));
});

test("mixedPrompts keeps the prompts whose group rewards differ, with each pass rate", async () => {
  // a fake policy: prompt k's samples are right (token 1) for the first k of G = 4 samples
  const sampler = {
    async sample(_p: Float32Array, prompts: number[][], n: number) {
      return prompts.map((p) => Array.from({ length: n }, (_, j) => [j < p[0] ? 1 : 0]));
    },
  };
  const prompts = [0, 1, 2, 3, 4, 2].map((k) => ({ ids: [k], answer: "" }));
  const seen: number[] = [];
  const r = await mixedPrompts(new Float32Array(1), prompts, sampler, 4, (c) => c[0], {
    temperature: 1,
    maxTokens: 1,
    seed: 1,
    chunk: 4,
    log: () => seen.push(1),
  });
  assert.deepEqual(r.passRates, [0, 0.25, 0.5, 0.75, 1, 0.5]);
  assert.deepEqual(r.keep, [1, 2, 3, 5]);
  assert.equal(seen.length, 2, "two chunks of at most 4 prompts");
});
