/**
 * The exported GGUF must compute what the training model computes: llama.cpp (node-llama-cpp,
 * CPU) loads it and its logits at every position match our forward pass. This pins the tensor
 * names, dims order, RoPE convention (NORM / adjacent pairs), GQA head mapping, tied output and
 * hyper-parameter keys against a reference we did not write.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_DATA_CONFIG, generateDataset } from "../../src/train/data/generate.js";
import { renderChat } from "../../src/train/data/format.js";
import { trainBpe } from "../../src/train/bpe/trainer.js";
import { buildVocab, SPECIAL_TEXTS } from "../../src/train/bpe/vocab.js";
import { LlamaTrainModel } from "../../src/train/model/llama.js";
import { initParams } from "../../src/train/model/params.js";
import { exportGGUF } from "../../src/train/export.js";
import { Rng } from "../../src/sampling/rng.js";
import type { TrainModelConfig } from "../../src/train/model/config.js";
import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";

const data = generateDataset({ ...DEFAULT_DATA_CONFIG, counts: { train: 200, val: 0, test: 0 } });
const vocab = buildVocab(
  trainBpe(
    data.train.map((e) => renderChat(e.messages)),
    { vocabSize: 300, specials: SPECIAL_TEXTS },
  ),
);

for (const tied of [true, false]) {
  test(`llama.cpp reproduces our logits from the exported F32 GGUF (${tied ? "tied" : "untied"})`, async () => {
    const cfg: TrainModelConfig = {
      vocab: vocab.tokens.length,
      dim: 64,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      ffn: 96,
      ctx: 64,
      ropeBase: 10000,
      normEps: 1e-5,
      tied,
    };
    const text = "<|im_start|>user\nWhat is 4821 + 377?<|im_end|>\n<|im_start|>assistant\n<think>\n";
    const ids = vocab.encoder.encode(text);
    const T = ids.length;
    const m = new LlamaTrainModel(cfg, 1, T);
    const rng = new Rng(11);
    initParams(m.params, m.layout, cfg, rng);
    // weights well above the init scale so attention patterns and positions matter
    for (let i = 0; i < m.params.length; i++) m.params[i] += rng.normal() * 0.15;
    m.forward(Int32Array.from(ids));
    const ours = m.lastLogits;
    const dir = mkdtempSync(join(tmpdir(), "edgellm-export-"));
    try {
      const path = join(dir, "m.gguf");
      await exportGGUF(path, cfg, m.params, vocab, { name: "test" });
      const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
      const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
      const model = await llama.loadModel({ modelPath: path });
      // F32 KV cache and no flash attention: llama.cpp's CPU flash-attention path rounds through
      // F16 (measured: ~2e-3 max |logit diff| with it on, ~4e-6 with it off)
      const ctx = await model.createContext({
        contextSize: 64,
        threads: 1,
        flashAttention: false,
        experimentalKvCacheKeyType: "F32",
        experimentalKvCacheValueType: "F32",
      });
      try {
        const seq = ctx.getSequence();
        const input: ControlledEvaluateInputItem[] = ids.map((t) => [
          t as Token,
          { generateNext: { logits: true } },
        ]);
        const out = await seq.controlledEvaluate(input);
        let worst = 0;
        let scale = 0;
        for (let t = 0; t < T; t++) {
          const lg = out[t]?.next?.logits;
          assert.ok(lg, `no logits at position ${t}`);
          let bestOurs = 0;
          for (let v = 0; v < cfg.vocab; v++) {
            const a = ours[t * cfg.vocab + v];
            const b = lg.get(v as Token)!;
            worst = Math.max(worst, Math.abs(a - b));
            scale = Math.max(scale, Math.abs(a));
            if (a > ours[t * cfg.vocab + bestOurs]) bestOurs = v;
          }
          assert.equal(lg.entries().next().value![0], bestOurs, `argmax differs at position ${t}`);
        }
        assert.ok(scale > 1, `logits too flat to be a meaningful comparison (max |logit| ${scale})`);
        assert.ok(worst < 1e-4 * Math.max(1, scale), `max |logit diff| ${worst} (max |logit| ${scale})`);
      } finally {
        await ctx.dispose();
        await model.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
