import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_DATA_CONFIG, generateDataset } from "../../src/train/data/generate.js";
import { renderChat } from "../../src/train/data/format.js";
import { trainBpe } from "../../src/train/bpe/trainer.js";
import { buildVocab, SPECIAL_TEXTS } from "../../src/train/bpe/vocab.js";
import { sampleBatch, tokenizeExamples } from "../../src/train/batches.js";
import { train, type TrainOptions } from "../../src/train/loop.js";
import { loadCheckpoint } from "../../src/train/checkpoint.js";
import { lrAt } from "../../src/train/optim/schedule.js";
import { InputError } from "../../src/errors.js";

// 1-2 digit addition only: a corpus a 30k-parameter model makes visible progress on in seconds
const data = generateDataset({
  ...DEFAULT_DATA_CONFIG,
  counts: { train: 300, val: 0, test: 0 },
  addSubDigits: 2,
  mix: { add: 1, sub: 0, mul: 0, word: 0, chat: 0 },
});
const vocab = buildVocab(
  trainBpe(
    data.train.map((e) => renderChat(e.messages)),
    { vocabSize: 320, specials: SPECIAL_TEXTS },
  ),
);
const set = tokenizeExamples(data.train, vocab.encoder, vocab.pad);

const base: TrainOptions = {
  config: {
    vocab: vocab.tokens.length,
    dim: 32,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    ffn: 64,
    ctx: 64,
    ropeBase: 10000,
    normEps: 1e-5,
    tied: true,
  },
  data: set,
  batch: 4,
  seqLen: 48,
  steps: 60,
  lr: { maxLr: 5e-3, minLr: 5e-4, warmup: 5 },
  clip: 1,
  seed: 3,
};

test("batches: masks cover only assistant tokens, and depend only on (seed, step)", () => {
  const imStart = vocab.specials.get("<|im_start|>")!;
  // every example starts with <|im_start|>user and its first trained token follows "assistant\n"
  for (let e = 0; e < 20; e++) assert.equal(set.ids[set.starts[e]], imStart);
  const a = sampleBatch(set, 4, 48, 9, 17);
  const b = sampleBatch(set, 4, 48, 9, 17);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.tokens, sampleBatch(set, 4, 48, 9, 18).tokens);
  // targets are the inputs shifted by one
  for (let t = 0; t + 1 < 48; t++) assert.equal(a.targets[t], a.tokens[t + 1]);
  // the decoded trained targets of a whole example are exactly the assistant reply + <|im_end|>
  const s0 = set.starts[0];
  const s1 = set.starts[1];
  const trained: number[] = [];
  for (let i = s0; i < s1; i++) if (set.train[i]) trained.push(set.ids[i]);
  assert.equal(vocab.encoder.decode(trained), data.train[0].messages[1].content + "<|im_end|>");
});

test("schedule: warmup then cosine to minLr", () => {
  const s = { maxLr: 1, minLr: 0.1, warmup: 10, total: 110 };
  assert.equal(lrAt(0, s), 0.1);
  assert.equal(lrAt(9, s), 1);
  assert.ok(Math.abs(lrAt(60, s) - 0.55) < 1e-12);
  assert.equal(lrAt(110, s), 0.1);
});

test("a tiny training run gets the loss below 3.0 in 60 steps", async () => {
  const r = await train(base); // its time: bench/test-speeds.ts

  const first = r.losses[0];
  const last5 = r.losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
  assert.ok(first > 5, `initial loss ${first} should be near ln(V) = ${Math.log(vocab.tokens.length)}`);
  assert.ok(last5 < 3.0, `mean loss of the last 5 steps is ${last5} (first ${first})`);
});

test("checkpoint + resume reproduces the uninterrupted loss curve exactly", async () => {
  const dir = mkdtempSync(join(tmpdir(), "edgellm-ckpt-"));
  try {
    const short = { ...base, steps: 10 };
    const full = await train(short);
    const ck = join(dir, "run.ckpt");
    const first = await train({ ...short, stopAt: 6, checkpointPath: ck });
    assert.equal(first.losses.length, 6);
    const c = await loadCheckpoint(ck);
    assert.equal(c.step, 6);
    const resumed = await train({ ...short, resumeFrom: ck, checkpointPath: ck });
    assert.deepEqual(resumed.losses, full.losses);
    assert.deepEqual(Array.from(resumed.model.params), Array.from(full.model.params));
    // a different seed cannot resume this checkpoint
    await assert.rejects(train({ ...short, seed: 4, resumeFrom: ck }), InputError);
    // a torn or foreign file is a typed error, not a crash
    const junk = join(dir, "junk.ckpt");
    writeFileSync(junk, "EDGECKPT\x10\x00\x00\x00{not json");
    await assert.rejects(loadCheckpoint(junk), InputError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
