// forwardBatch runs every weight product once over all sequences' tokens and only the cache write
// and attention per sequence. For each attention flavour (llama GQA, qwen2 biases, qwen3 q/k norm
// with 1 KV head, gemma2/3 windows and soft-capping, lfm2's per-sequence conv state, deepseek2 MLA with plain q and with q LoRA, both with MoE FFNs), a batch of three sequences at
// different positions, mixing prefill and decode, must give each sequence's own
// Transformer.forward logits (to float rounding: the kernels may order sums by batch size).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { forwardBatch } from "../../src/engine/batch-forward.js";
import type { TestModelSpec } from "../../src/model/factory/index.js";
import { prompt, smallModel } from "./helpers.js";
import { DEEPSEEK_V3_STYLE, TINY_SHAPE } from "../model/family-specs.js";

const small = TINY_SHAPE;
const CASES: [string, TestModelSpec][] = [
  ["llama GQA", { arch: "llama", ...small }],
  [
    "gemma3 local/global windows",
    {
      arch: "gemma3",
      ...small,
      nLayer: 3,
      headDim: 32,
      tiedEmbeddings: true,
      swa: { window: 4, pattern: 3 },
    },
  ],
  [
    "gemma2 soft-capped attention",
    { arch: "gemma2", ...small, tiedEmbeddings: true, swa: { window: 4 }, softcap: { attn: 2, final: 6 } },
  ],
  [
    "qwen35 DeltaNet (conv + delta-rule state) + gated attention",
    {
      arch: "qwen35",
      ...small,
      nLayer: 4,
      headDim: 16,
      deltaNet: { convWidth: 4, nKHeads: 2, nVHeads: 4, headK: 16, headV: 16, interval: 4, ropeDim: 8 },
    },
  ],
  [
    "lfm2 short conv (per-sequence state) + attention",
    { arch: "lfm2", ...small, nLayer: 3, shortConv: { width: 3, attentionLayers: [1] } },
  ],
  ["qwen2 biases", { arch: "qwen2", ...small }],
  ["qwen3 q/k norm, 1 KV head", { arch: "qwen3", ...small, headDim: 32, nHeadKv: 1 }],
  [
    "deepseek2 MLA plain q",
    {
      arch: "deepseek2",
      ...small,
      nHeadKv: 4,
      mla: { qLoraRank: 0, kvLoraRank: 32, nopeDim: 16, ropeDim: 8, vDim: 16 },
      moe: { nExpert: 8, nExpertUsed: 2, nFfExp: 16, nShared: 1, leadingDense: 1, weightsScale: 1 },
    },
  ],
  ["deepseek2 MLA q LoRA", DEEPSEEK_V3_STYLE],
];

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

for (const [name, spec] of CASES) {
  test(`forwardBatch == per-sequence forward: ${name}`, async () => {
    const m = await smallModel(spec);
    after(() => m.cleanup());
    const V = m.model.config.nVocab;
    const ids = [prompt(9, 1, V), prompt(5, 2, V), prompt(14, 3, V)];
    // Reference: each sequence alone, prefix then continuation.
    const split = [6, 4, 10];
    const ref = ids.map((p, i) => {
      const c = m.model.newCache(32);
      m.model.forward(p.slice(0, split[i]), c);
      return m.model.forward(p.slice(split[i]), c, [p.length - split[i] - 1]);
    });
    // Batched: step 1 prefills the prefixes together; step 2 finishes all three together
    // (one decode token for sequence 1, multi-token chunks for 0 and 2), at different positions.
    const caches = ids.map(() => m.model.newCache(32));
    forwardBatch(
      m.model,
      ids.map((p, i) => ({ tokens: p.slice(0, split[i]), cache: caches[i], outputs: [] })),
    );
    const out = forwardBatch(
      m.model,
      ids.map((p, i) => ({
        tokens: p.slice(split[i]),
        cache: caches[i],
        outputs: [p.length - split[i] - 1],
      })),
    );
    for (let i = 0; i < 3; i++) {
      const d = maxDiff(out[i][0], ref[i][0]);
      assert.ok(d <= 1e-4, `${name}: sequence ${i} max |dlogit| ${d}`);
      assert.equal(caches[i].length, ids[i].length);
    }
  });
}
