/**
 * LoRA training (src/train/lora.ts) on a frozen base: the adapter's hand-written gradients match
 * central finite differences (float64, through the whole model); AdamW on the adapter alone lowers
 * the loss while the base stays bit-identical; the exported adapter GGUF, applied by our runtime
 * (model/lora.ts) and by llama.cpp to the exported base, reproduces the training model's logits.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../../src/sampling/rng.js";
import { LlamaTrainModel } from "../../src/train/model/llama.js";
import { initParams } from "../../src/train/model/params.js";
import type { TrainModelConfig } from "../../src/train/model/config.js";
import { LoraParams, writeLoraAdapter } from "../../src/train/lora.js";
import { AdamW, DEFAULT_ADAMW } from "../../src/train/optim/adamw.js";
import { exportGGUF } from "../../src/train/export.js";
import { trainBpe } from "../../src/train/bpe/trainer.js";
import { buildVocab, SPECIAL_TEXTS } from "../../src/train/bpe/vocab.js";
import { loadLoraAdapter, loadModel } from "../../src/model/index.js";
import { referenceRun } from "../conformance/reference.js";
import { fdCheck } from "./fd-check.js";

const cfg = (vocab: number): TrainModelConfig => ({
  vocab,
  dim: 32,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  ffn: 48,
  ctx: 32,
  ropeBase: 10000,
  normEps: 1e-5,
  tied: false,
});

test("LoRA gradients equal finite differences (float64, every target kind)", () => {
  const c = cfg(40);
  const T = 6;
  const m = new LlamaTrainModel(c, 1, T, Float64Array);
  const rng = new Rng(5);
  initParams(m.params, m.layout, c, rng);
  for (let i = 0; i < m.params.length; i++) m.params[i] += rng.normal() * 0.1;
  const lp = new LoraParams(c, { rank: 3, alpha: 6 }, Float64Array);
  lp.init(rng);
  for (let i = 0; i < lp.params.length; i++) lp.params[i] += rng.normal() * 0.2; // B != 0 so dA is not 0
  m.lora = lp;
  const tokens = Int32Array.from({ length: T }, (_, i) => (i * 7 + 3) % 40);
  const targets = Int32Array.from({ length: T }, (_, i) => (i * 11 + 1) % 40);
  const mask = new Uint8Array(T).fill(1);
  const L = () => m.forward(tokens, targets, mask);
  L();
  lp.zeroGrad();
  m.zeroGrad();
  m.backward();
  const g = Float64Array.from(lp.grads);
  // Every 7th parameter (all kinds and both A and B are hit), central differences.
  const idx = Array.from({ length: Math.ceil(lp.params.length / 7) }, (_, j) => j * 7);
  fdCheck("lora", lp.params, g, L, { idx, tol: 1e-5, floor: 1e-3 });
});

test("training the adapter lowers the loss; the base is untouched; export = runtime = llama.cpp", async () => {
  const vocab = buildVocab(
    trainBpe(["hello world, the lora adapter learns a pattern 0123456789"], {
      vocabSize: 300,
      specials: SPECIAL_TEXTS,
    }),
  );
  const c = cfg(vocab.tokens.length);
  const T = 16;
  const m = new LlamaTrainModel(c, 1, T);
  const rng = new Rng(9);
  initParams(m.params, m.layout, c, rng);
  for (let i = 0; i < m.params.length; i++) m.params[i] += rng.normal() * 0.1;
  const base = Float32Array.from(m.params);
  const lp = new LoraParams(c, { rank: 4, alpha: 8 });
  lp.init(rng);
  m.lora = lp;
  // A fixed pattern the base does not know: next token = (token * 5 + 3) mod V.
  const V = c.vocab;
  const tokens = Int32Array.from({ length: T }, (_, i) => 20 + ((i * 13) % (V - 20)));
  const targets = tokens.map((t) => (t * 5 + 3) % V);
  const mask = new Uint8Array(T).fill(1);
  const opt = new AdamW(lp.params.length, { ...DEFAULT_ADAMW, weightDecay: 0 }, lp.entries);
  const first = m.forward(tokens, targets, mask);
  let loss = first;
  for (let s = 0; s < 60; s++) {
    lp.zeroGrad();
    m.zeroGrad();
    loss = m.forward(tokens, targets, mask);
    m.backward();
    opt.step(lp.params, lp.grads, 1e-2);
  }
  console.log(`LoRA training loss ${first.toFixed(3)} -> ${loss.toFixed(3)}`);
  assert.ok(loss < first * 0.5, `${first} -> ${loss}`);
  assert.deepEqual(Array.from(m.params), Array.from(base));

  m.forward(tokens);
  const ours = Float32Array.from(m.lastLogits);
  const dir = mkdtempSync(join(tmpdir(), "lora-train-"));
  try {
    const bp = join(dir, "base.gguf");
    const ap = join(dir, "adapter.gguf");
    await exportGGUF(bp, c, m.params, vocab, { name: "lora-test" });
    await writeLoraAdapter(ap, lp);
    // Our runtime: base + adapter.
    const rt = await loadModel(bp);
    const ad = await loadLoraAdapter(ap, rt);
    const logits = rt.forward(
      Array.from(tokens),
      rt.newCache(T + 1),
      Array.from({ length: T }, (_, i) => i),
      { lora: [{ adapter: ad, scale: 1 }] },
    );
    let e = 0;
    logits.forEach((row, t) => row.forEach((v, i) => (e = Math.max(e, Math.abs(v - ours[t * V + i])))));
    console.log(`runtime vs training model: max |dlogit| ${e.toExponential(2)}`);
    assert.ok(e < 1e-3, `${e}`);
    // llama.cpp with the same adapter: last position and greedy continuation start.
    const ref = await referenceRun(bp, Array.from(tokens), 1, V, { lora: [{ filePath: ap, scale: 1 }] });
    let er = 0;
    ref.logits.forEach((v, i) => (er = Math.max(er, Math.abs(v - ours[(T - 1) * V + i]))));
    console.log(`llama.cpp vs training model (last position): max |dlogit| ${er.toExponential(2)}`);
    assert.ok(er < 1e-3, `${er}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("train loop with LoRA on a Q8_0 base (dequantized): deterministic resume, loss falls, adapter runs on the Q8_0 file", async () => {
  const { train } = await import("../../src/train/loop.js");
  const { loadTrainBase } = await import("../../src/train/lora.js");
  const vocab = buildVocab(
    trainBpe(["count with me: one two three four five six seven"], {
      vocabSize: 280,
      specials: SPECIAL_TEXTS,
    }),
  );
  const c = cfg(vocab.tokens.length);
  const m0 = new LlamaTrainModel(c, 1, 8);
  initParams(m0.params, m0.layout, c, new Rng(3));
  for (let i = 0; i < m0.params.length; i++) m0.params[i] += new Rng(i).normal() * 0.05;
  const dir = mkdtempSync(join(tmpdir(), "lora-loop-"));
  try {
    const q8 = join(dir, "base-q8.gguf");
    await exportGGUF(q8, c, m0.params, vocab, { name: "base", type: "q8_0" });
    const base = await loadTrainBase(q8);
    assert.deepEqual({ ...base.config, normEps: c.normEps }, c); // eps comes back as its f32 value
    assert.equal(base.config.normEps, Math.fround(c.normEps));
    // A cyclic sequence the base never saw; every token is a target.
    const V = c.vocab;
    const n = 400;
    const ids = Int32Array.from({ length: n }, (_, i) => 30 + ((i * 7) % 23));
    const data = { ids, train: new Uint8Array(n).fill(1), starts: Int32Array.from([0]), pad: 0 };
    const opts = {
      config: base.config,
      data,
      batch: 2,
      seqLen: 16,
      steps: 60,
      lr: { maxLr: 3e-2, warmup: 2, minLr: 1e-3 },
      clip: 1,
      seed: 4,
      lora: { rank: 4, alpha: 8, base: base.params },
    } as Parameters<typeof train>[0];
    const full = await train(opts);
    const ck = join(dir, "ck.bin");
    await train({ ...opts, stopAt: 25, checkpointPath: ck });
    const resumed = await train({ ...opts, resumeFrom: ck });
    assert.deepEqual(resumed.losses, full.losses);
    const head = full.losses.slice(0, 3).reduce((a, b) => a + b) / 3;
    const tail = full.losses.slice(-3).reduce((a, b) => a + b) / 3;
    console.log(`LoRA loop loss ${head.toFixed(3)} -> ${tail.toFixed(3)}`);
    assert.ok(tail < head - 1, `${head} -> ${tail}`); // more than a nat lower
    assert.deepEqual(Array.from(full.model.params), Array.from(base.params));
    // The adapter on the quantized file in our runtime: same greedy next tokens as training.
    const ap = join(dir, "a.gguf");
    await writeLoraAdapter(ap, full.lora!);
    const T = 16;
    const tm = new LlamaTrainModel(base.config, 1, T);
    tm.params.set(base.params);
    tm.lora = full.lora;
    const toks = ids.subarray(0, T);
    tm.forward(toks);
    const rt = await loadModel(q8);
    const ad = await loadLoraAdapter(ap, rt);
    const out = rt.forward(
      Array.from(toks),
      rt.newCache(T + 1),
      Array.from({ length: T }, (_, i) => i),
      { lora: [{ adapter: ad, scale: 1 }] },
    );
    let e = 0;
    let same = 0;
    out.forEach((row, t) => {
      let a = 0;
      let b = 0;
      for (let i = 0; i < V; i++) {
        e = Math.max(e, Math.abs(row[i] - tm.lastLogits[t * V + i]));
        if (row[i] > row[a]) a = i;
        if (tm.lastLogits[t * V + i] > tm.lastLogits[t * V + b]) b = i;
      }
      same += a === b ? 1 : 0;
    });
    console.log(
      `Q8_0 runtime + adapter vs training model: max |dlogit| ${e.toExponential(2)}, argmax equal ${same}/${T}`,
    );
    assert.ok(e < 5e-2, `${e}`);
    assert.ok(same >= T - 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
