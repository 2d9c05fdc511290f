/**
 * qwen2, qwen3, Mixtral-style llama MoE, qwen2moe, qwen3moe and deepseek2 (MLA) vs llama.cpp on
 * small random-weight factory models, F32 weights and F32 KV cache: logits within 1e-4 and
 * identical greedy tokens (a mismatch only at a reference top-2 gap below 1e-4).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestModelSpec } from "../../src/model/factory/index.js";
import { runConformance } from "./harness.js";
import { DEEPSEEK_V3_STYLE, TINY_SHAPE } from "../model/family-specs.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "conf-fam-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = [1, 17, 250, 3, 99, 42, 7, 300, 12];
const small = TINY_SHAPE;

const CASES: [string, TestModelSpec][] = [
  ["qwen2 (biases, NEOX)", { arch: "qwen2", ...small }],
  // general.name must not contain "phi3": llama.cpp then expects Phi-3's special tokens in the vocab.
  ["phi3 (fused qkv and gate/up, q pre-scaled)", { arch: "phi3", name: "fused-test", ...small }],
  [
    "qwen3 (q/k norm, head_dim 32 != nEmbd/nHead, 1 KV head)",
    { arch: "qwen3", ...small, headDim: 32, nHeadKv: 1 },
  ],
  [
    "smollm3 (NoPE on every 4th layer, tied output)",
    { arch: "smollm3", ...small, nLayer: 4, tiedEmbeddings: true },
  ],
  ["llama MoE 8 experts top-2 (Mixtral)", { arch: "llama", ...small, moe: { nExpert: 8, nExpertUsed: 2 } }],
  [
    "qwen2moe 8 experts top-2 + gated shared expert",
    { arch: "qwen2moe", ...small, moe: { nExpert: 8, nExpertUsed: 2, nFfExp: 32, nFfShared: 64 } },
  ],
  [
    "qwen3moe 64 experts top-6 (norm_topk)",
    { arch: "qwen3moe", ...small, moe: { nExpert: 64, nExpertUsed: 6, nFfExp: 16 } },
  ],
  [
    "deepseek2 MLA, plain q, 1 dense layer, 64 experts top-6 + 2 shared, softmax",
    {
      arch: "deepseek2",
      ...small,
      nLayer: 3,
      nHeadKv: 4,
      mla: { qLoraRank: 0, kvLoraRank: 32, nopeDim: 16, ropeDim: 8, vDim: 16 },
      moe: { nExpert: 64, nExpertUsed: 6, nFfExp: 16, nShared: 2, leadingDense: 1, weightsScale: 1 },
    },
  ],
  [
    "deepseek2 V3-style: q LoRA, sigmoid gating + selection bias, norm, scale 2.5, 4 groups / 2 used",
    DEEPSEEK_V3_STYLE,
  ],
];

for (const [name, spec] of CASES) {
  test(`${name}: F32 logits within 1e-4, greedy identical`, async () => {
    const r = await runConformance(dir, `${spec.arch}-${name.length}.gguf`, spec, PROMPT, 32);
    console.log(`${name}: max |dlogit| = ${r.maxErr.toExponential(2)}; first greedy diff ${r.firstDiff}`);
    assert.ok(r.maxErr <= 1e-4, `max logit error ${r.maxErr}`);
    if (r.firstDiff >= 0)
      assert.ok(r.gapAtDiff < 1e-4, `greedy diverged at step ${r.firstDiff}, top-2 gap ${r.gapAtDiff}`);
  });
}
