/**
 * The WASM SIMD kernel path vs llama.cpp, for every weight type the kernels take: matrix products
 * in the WASM set (activations quantized as ggml does, sums in the kernels' own order) and, with
 * the F32 cache newCache() then returns, attention in the set as well (KernelKVCache +
 * ks.attention, online softmax). Families: llama (dense) and qwen3moe (8 experts top-2, q/k norm).
 *
 * Tolerances, and why two: with F32 weights nothing is re-rounded after a product, so the kernels'
 * own summation order stays at float-ulp level: 1e-4 (measured 1.2e-5 llama, 1.6e-5 qwen3moe).
 * Every other type re-rounds activations (to Q8_0/Q8_1/Q8_K or half) before the next product; an
 * ulp of order difference occasionally moves one value across a rounding boundary, and these
 * random-weight models (gain ~2.4 per product) amplify that one step to 1e-2..1e-1 at the logits
 * (measured: llama Q4_1 6.4e-2, F16 3.1e-3; qwen3moe Q8_0 1.0e-1 from the attention's order, Q4_1
 * 5.7e-2, F16 3.0e-3; all others <= 3e-6). The plain-TS path reproduces ggml's order and is
 * bit-identical there against the AVX2 build at the prompt (quant-families.test.ts). So: logits
 * within harness.ts typeTolerance (F16: 4 half units, 8-bit paths: 4 int8 steps of max |logit|)
 * over the prompt and every teacher-forced greedy step, greedy tokens identical except at a
 * reference top-2 gap below that. Full suite only (CONFORMANCE_FULL=1).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType } from "../../src/gguf/types.js";
import type { TestModelSpec } from "../../src/model/factory/index.js";
import type { KernelSet } from "../../src/kernels/kernel-set.js";
import { runConformance, typeTolerance } from "./harness.js";

const FULL = process.env.CONFORMANCE_FULL === "1";
let dir: string;
let ks: KernelSet | undefined;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "conf-wasm-"));
  if (FULL) {
    const { createWasmKernelSet } = await import("../../src/kernels/wasm/wasm-kernel-set.js");
    ks = await createWasmKernelSet({ threads: 2 });
  }
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await ks?.dispose();
});

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
const FAMILIES: [string, TestModelSpec][] = [
  ["llama", { arch: "llama", ...wide }],
  [
    "qwen3moe 8x top-2",
    { arch: "qwen3moe", ...wide, nHeadKv: 1, moe: { nExpert: 8, nExpertUsed: 2, nFfExp: 256 } },
  ],
];
const TYPES: [string, GGMLType][] = [
  ["F32", GGMLType.F32],
  ["F16", GGMLType.F16],
  ["BF16", GGMLType.BF16],
  ["Q4_0", GGMLType.Q4_0],
  ["Q4_1", GGMLType.Q4_1],
  ["Q5_0", GGMLType.Q5_0],
  ["Q5_1", GGMLType.Q5_1],
  ["Q8_0", GGMLType.Q8_0],
  ["Q4_K", GGMLType.Q4_K],
  ["Q5_K", GGMLType.Q5_K],
  ["Q6_K", GGMLType.Q6_K],
  ["IQ4_NL", GGMLType.IQ4_NL],
  ["IQ4_XS", GGMLType.IQ4_XS],
];

for (const [fam, base] of FAMILIES) {
  for (const [tn, type] of TYPES) {
    test(
      `${fam} ${tn} through the WASM kernels (products + attention): logits within ${type === GGMLType.F32 ? "1e-4" : "the type's rounding tolerance"}`,
      { skip: FULL ? false : "CONFORMANCE_FULL=1 only" },
      async () => {
        const spec: TestModelSpec = { ...base, types: { weights: type } };
        const r = await runConformance(
          dir,
          `${fam.split(" ")[0]}-${tn}-wasm.gguf`,
          spec,
          PROMPT,
          16,
          "f32",
          ks,
        );
        const TOL = typeTolerance(type, r.scale);
        console.log(
          `wasm ${fam} ${tn}: max |dlogit| = ${r.maxErr.toExponential(2)} (tol ${TOL.toExponential(2)}); first greedy diff ${r.firstDiff}`,
        );
        assert.ok(r.maxErr <= TOL, `max logit error ${r.maxErr}`);
        if (r.firstDiff >= 0)
          assert.ok(r.gapAtDiff < TOL, `greedy diverged at ${r.firstDiff}, top-2 gap ${r.gapAtDiff}`);
      },
    );
  }
}
