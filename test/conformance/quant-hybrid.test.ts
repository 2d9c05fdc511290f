/**
 * Q8_0 and Q4_K weights for the families added for on-device models (gemma2, gemma3, lfm2, qwen35,
 * qwen35moe, qwen3next, smollm3, qwen2moe) vs llama.cpp, on the reference operator set: logits at
 * the prompt and at every teacher-forced greedy step within harness.ts typeTolerance (8-bit
 * activation paths: 4 int8 steps of max |logit|, the arithmetic stated there), greedy tokens equal
 * except at a reference top-2 gap below that bound. Rows are 256 wide (K-quant super-blocks);
 * norms, conv kernels, biases and routers stay F32 as llama.cpp's quantizer keeps them.
 * gpt-oss's quantized variants are in gpt-oss.test.ts. `npm test` runs Q8_0 of three families;
 * CONFORMANCE_FULL=1 runs every family and type.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType } from "../../src/gguf/types.js";
import type { TestModelSpec } from "../../src/model/factory/index.js";
import { runConformance, typeTolerance } from "./harness.js";

const FULL = process.env.CONFORMANCE_FULL === "1";
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "conf-qhyb-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = [1, 17, 250, 3, 99, 42, 7, 300, 12];
const wide = {
  nEmbd: 256,
  nLayer: 4,
  nHead: 4,
  nHeadKv: 2,
  headDim: 64,
  nFf: 256,
  nCtx: 256,
  nVocab: 333,
  weightStd: 0.15,
};
const dn = { convWidth: 4, nKHeads: 2, nVHeads: 4, headK: 64, headV: 64, interval: 2, ropeDim: 32 };
const moe = { nExpert: 4, nExpertUsed: 2, nFfExp: 256, nFfShared: 256 };

/** [name, spec, in npm test]. */
const FAMILIES: [string, TestModelSpec, boolean][] = [
  ["gemma2", { arch: "gemma2", ...wide, tiedEmbeddings: true, swa: { window: 4 } }, false],
  ["gemma3", { arch: "gemma3", ...wide, tiedEmbeddings: true, swa: { window: 4, pattern: 2 } }, true],
  ["lfm2", { arch: "lfm2", ...wide, shortConv: { width: 3, attentionLayers: [1, 3] } }, true],
  ["qwen35", { arch: "qwen35", ...wide, deltaNet: dn }, true],
  ["qwen35moe", { arch: "qwen35moe", ...wide, deltaNet: dn, moe }, false],
  ["qwen3next", { arch: "qwen3next", ...wide, deltaNet: { ...dn, nVHeads: 4 }, moe }, false],
  ["smollm3", { arch: "smollm3", ...wide, tiedEmbeddings: true }, false],
  ["qwen2moe", { arch: "qwen2moe", ...wide, nLayer: 2, moe }, false],
];
const TYPES: [string, GGMLType][] = [
  ["Q8_0", GGMLType.Q8_0],
  ["Q4_K", GGMLType.Q4_K],
];

for (const [fam, base, quick] of FAMILIES) {
  for (const [tn, type] of TYPES) {
    const skip = FULL || (quick && type === GGMLType.Q8_0) ? false : "CONFORMANCE_FULL=1 only";
    test(
      `${fam} ${tn}: logits within 4 int8 steps of the logit scale, greedy identical except near-ties`,
      { skip },
      async () => {
        const r = await runConformance(
          dir,
          `${fam}-${tn}.gguf`,
          { ...base, types: { weights: type } },
          PROMPT,
          16,
        );
        const tol = typeTolerance(type, r.scale);
        console.log(
          `${fam} ${tn}: max |dlogit| = ${r.maxErr.toExponential(2)} (tol ${tol.toExponential(2)}, |logit| <= ${r.scale.toFixed(2)}); first greedy diff ${r.firstDiff}; steps ${r.stepErr.map((e) => e.toExponential(1)).join(" ")}`,
        );
        assert.ok(r.maxErr <= tol, `max logit error ${r.maxErr} > ${tol}`);
        if (r.firstDiff >= 0)
          assert.ok(r.gapAtDiff < tol, `greedy diverged at ${r.firstDiff}, top-2 gap ${r.gapAtDiff}`);
      },
    );
  }
}
