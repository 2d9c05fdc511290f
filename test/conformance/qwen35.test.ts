/**
 * qwen35 (Gated DeltaNet linear attention with a conv + delta-rule state per sequence, interleaved
 * with gated full attention) vs llama.cpp on a small random-weight factory model, F32 weights and
 * cache: logits within 1e-4 and identical greedy tokens over 32 steps; qwen35moe, the same hybrid
 * with a MoE FFN (renormalised softmax top-k + sigmoid-gated shared expert), and qwen3next (its own
 * head grouping and fused beta/alpha), on the same bounds.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestModelSpec } from "../../src/model/factory/index.js";
import { runConformance } from "./harness.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "conf-qwen35-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = [1, 17, 250, 3, 99, 42, 7, 300, 12];

const CASES: [string, TestModelSpec][] = [
  [
    "qwen35 (3 DeltaNet : 1 gated attention, 2 key / 4 value heads, conv 4, partial RoPE)",
    {
      arch: "qwen35",
      nEmbd: 64,
      nLayer: 4,
      nHead: 4,
      nHeadKv: 2,
      headDim: 16,
      nFf: 96,
      nCtx: 256,
      nVocab: 333,
      weightStd: 0.15,
      rmsEps: 1e-6,
      deltaNet: { convWidth: 4, nKHeads: 2, nVHeads: 4, headK: 16, headV: 16, interval: 4, ropeDim: 8 },
    },
  ],
  [
    "qwen35moe (the same hybrid, MoE FFN: 8 experts top-2 renormalised + gated shared expert)",
    {
      arch: "qwen35moe",
      nEmbd: 64,
      nLayer: 4,
      nHead: 4,
      nHeadKv: 2,
      headDim: 16,
      nFf: 96,
      nCtx: 256,
      nVocab: 333,
      weightStd: 0.15,
      rmsEps: 1e-6,
      deltaNet: { convWidth: 4, nKHeads: 2, nVHeads: 4, headK: 16, headV: 16, interval: 2, ropeDim: 8 },
      moe: { nExpert: 8, nExpertUsed: 2, nFfExp: 32, nFfShared: 64 },
    },
  ],
  [
    "qwen3next (value heads grouped under key heads, fused ssm_ba, 2 key / 8 value heads, MoE)",
    {
      arch: "qwen3next",
      nEmbd: 64,
      nLayer: 4,
      nHead: 4,
      nHeadKv: 2,
      headDim: 16,
      nFf: 96,
      nCtx: 256,
      nVocab: 333,
      weightStd: 0.15,
      rmsEps: 1e-6,
      deltaNet: { convWidth: 4, nKHeads: 2, nVHeads: 8, headK: 16, headV: 16, interval: 4, ropeDim: 8 },
      moe: { nExpert: 8, nExpertUsed: 2, nFfExp: 32, nFfShared: 64 },
    },
  ],
];

for (const [name, spec] of CASES) {
  test(`${name}: F32 logits within 1e-4, greedy identical`, async () => {
    const r = await runConformance(dir, `qwen35-${name.length}.gguf`, spec, PROMPT, 32);
    console.log(
      `${name}: max |dlogit| = ${r.maxErr.toExponential(2)}; first greedy diff ${r.firstDiff}; steps ${r.stepErr.map((e) => e.toExponential(1)).join(" ")}`,
    );
    assert.ok(r.maxErr <= 1e-4, `max logit error ${r.maxErr}`);
    if (r.firstDiff >= 0)
      assert.ok(r.gapAtDiff < 1e-4, `greedy diverged at step ${r.firstDiff}, top-2 gap ${r.gapAtDiff}`);
  });
}

for (const [name, spec] of CASES) {
  test(`${spec.arch} through the WASM kernels (paged cache + DeltaNet state): logits within 1e-4, greedy identical`, async () => {
    const { createWasmKernelSet } = await import("../../src/kernels/wasm/wasm-kernel-set.js");
    const ks = await createWasmKernelSet({ threads: 1 });
    try {
      const r = await runConformance(dir, `${spec.arch}-wasm.gguf`, spec, PROMPT, 32, "f32", ks);
      console.log(
        `${name} (WASM): max |dlogit| = ${r.maxErr.toExponential(2)}; first greedy diff ${r.firstDiff}`,
      );
      assert.ok(r.maxErr <= 1e-4, `max logit error ${r.maxErr}`);
      if (r.firstDiff >= 0)
        assert.ok(r.gapAtDiff < 1e-4, `greedy diverged at step ${r.firstDiff}, top-2 gap ${r.gapAtDiff}`);
    } finally {
      await ks.dispose();
    }
  });
}
