/**
 * Quantized, F16 and BF16 weights for qwen2, qwen3, phi3, qwen3moe (MoE) and deepseek2 (MLA) vs
 * llama.cpp. Our side runs the reference operator set (src/model/reference/ggml-order: ggml's
 * AVX2 order, AVX2 activation quantizers, the last layer's FFN on the output rows only).
 * Logits are compared at the prompt and at every teacher-forced greedy step, within
 * harness.ts typeTolerance: F16 4 half units, 8-bit activation paths (Q8_0/Q8_1/Q8_K, BF16) 4 int8
 * steps of max |logit| (measured: ~1e-6 at the prompt against the AVX2 build; a rounding flip in a
 * later step cascades to at most ~1.7e-2 of max |logit| against AVX2 and AVX-512 builds alike).
 * Greedy tokens may differ only where the reference's top-2 gap is below the tolerance.
 * Full suite only (CONFORMANCE_FULL=1); `npm test` keeps one small case per family
 * (families.test.ts). K-quants need 256-wide rows, so MLA (whose per-head k_b rows are nope_dim
 * wide) runs the 32-block types only. EDGELLM_REF_LLAMA=avx2 runs it against the AVX2 build.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType } from "../../src/gguf/types.js";
import type { TestModelSpec } from "../../src/model/factory/index.js";
import { runConformance, typeTolerance } from "./harness.js";
import { referenceBackend } from "./reference.js";

const FULL = process.env.CONFORMANCE_FULL === "1";
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "conf-qfam-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = [1, 17, 250, 3, 99, 42, 7, 300, 12];
const wide = {
  nEmbd: 256,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 256,
  nCtx: 256,
  nVocab: 333,
  weightStd: 0.15,
};
const FAMILIES: [string, TestModelSpec, boolean][] = [
  ["qwen2", { arch: "qwen2", ...wide }, true],
  ["qwen3", { arch: "qwen3", ...wide, nHeadKv: 1 }, true],
  ["phi3", { arch: "phi3", name: "fused-test", ...wide }, true],
  [
    "qwen3moe 8x top-2",
    { arch: "qwen3moe", ...wide, moe: { nExpert: 8, nExpertUsed: 2, nFfExp: 256 } },
    true,
  ],
  [
    "deepseek2 MLA + MoE",
    {
      arch: "deepseek2",
      ...wide,
      nHeadKv: 4,
      mla: { qLoraRank: 0, kvLoraRank: 64, nopeDim: 32, ropeDim: 32, vDim: 64 },
      moe: { nExpert: 8, nExpertUsed: 2, nFfExp: 64, nShared: 1, leadingDense: 1 },
    },
    false,
  ],
];
const TYPES: [string, GGMLType, boolean][] = [
  ["F16", GGMLType.F16, false],
  ["Q8_0", GGMLType.Q8_0, false],
  ["Q4_0", GGMLType.Q4_0, false],
  ["Q4_K", GGMLType.Q4_K, true],
  ["Q6_K", GGMLType.Q6_K, true],
  ["BF16", GGMLType.BF16, false],
  ["Q4_1", GGMLType.Q4_1, false],
  ["Q5_0", GGMLType.Q5_0, false],
  ["Q5_1", GGMLType.Q5_1, false],
  ["Q5_K", GGMLType.Q5_K, true],
  ["IQ4_NL", GGMLType.IQ4_NL, false],
  ["IQ4_XS", GGMLType.IQ4_XS, true],
];

for (const [fam, base, kquants] of FAMILIES) {
  for (const [tn, type, needs256] of TYPES) {
    const skip = !FULL ? "CONFORMANCE_FULL=1 only" : needs256 && !kquants ? "rows narrower than 256" : false;
    test(
      `${fam} ${tn}: logits within ${type === GGMLType.F16 ? "4 half units" : "4 int8 steps"} of the logit scale at every greedy step, greedy identical except near-ties`,
      { skip },
      async () => {
        const spec: TestModelSpec = { ...base, types: { weights: type } };
        const r = await runConformance(
          dir,
          `${fam.split(" ")[0]}-${tn}.gguf`,
          spec,
          PROMPT,
          16,
          type === GGMLType.F16 ? "f16" : "f32",
        );
        const tol = typeTolerance(type, r.scale);
        console.log(
          `${fam} ${tn}: max |dlogit| = ${r.maxErr.toExponential(2)} (tol ${tol.toExponential(2)}); first greedy diff ${r.firstDiff}`,
        );
        console.log(
          `MEASURE ${JSON.stringify({ be: referenceBackend(), fam, tn, gap: r.gapAtDiff, firstDiff: r.firstDiff, err: r.stepErr.map((v) => +v.toExponential(2)), scale: r.stepScale.map((v) => +v.toFixed(2)) })}`,
        );
        assert.ok(r.maxErr <= tol, `max logit error ${r.maxErr}`);
        if (r.firstDiff >= 0)
          assert.ok(r.gapAtDiff < tol, `greedy diverged at ${r.firstDiff}, top-2 gap ${r.gapAtDiff}`);
      },
    );
  }
}
