/**
 * lfm2 (gated short convolutions with a per-sequence conv state, interleaved with GQA attention
 * layers) vs llama.cpp on small random-weight factory models, F32 weights and cache: logits within
 * 1e-4 and identical greedy tokens over 32 steps (the decode steps carry the conv state).
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
  dir = mkdtempSync(join(tmpdir(), "conf-lfm2-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = [1, 17, 250, 3, 99, 42, 7, 300, 12];
const small = { nEmbd: 64, nHead: 4, nHeadKv: 2, nFf: 96, nCtx: 256, nVocab: 333, weightStd: 0.15 };

const CASES: [string, TestModelSpec][] = [
  [
    "lfm2 (conv, attn, conv, attn; width 3; tied)",
    {
      arch: "lfm2",
      ...small,
      nLayer: 4,
      tiedEmbeddings: true,
      shortConv: { width: 3, attentionLayers: [1, 3] },
    },
  ],
  [
    "lfm2 (conv first and last, width 4, untied output)",
    { arch: "lfm2", ...small, nLayer: 3, shortConv: { width: 4, attentionLayers: [1] } },
  ],
];

for (const [name, spec] of CASES) {
  test(`${name}: F32 logits within 1e-4, greedy identical`, async () => {
    const r = await runConformance(dir, `lfm2-${name.length}.gguf`, spec, PROMPT, 32);
    console.log(`${name}: max |dlogit| = ${r.maxErr.toExponential(2)}; first greedy diff ${r.firstDiff}`);
    assert.ok(r.maxErr <= 1e-4, `max logit error ${r.maxErr}`);
    if (r.firstDiff >= 0)
      assert.ok(r.gapAtDiff < 1e-4, `greedy diverged at step ${r.firstDiff}, top-2 gap ${r.gapAtDiff}`);
  });
}

test("lfm2 through the WASM kernels (paged cache + conv state): logits within 1e-4, greedy identical", async () => {
  const { createWasmKernelSet } = await import("../../src/kernels/wasm/wasm-kernel-set.js");
  const ks = await createWasmKernelSet({ threads: 1 });
  try {
    const [name, spec] = CASES[0];
    const r = await runConformance(dir, `lfm2-wasm.gguf`, spec, PROMPT, 32, "f32", ks);
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
