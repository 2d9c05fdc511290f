/**
 * gemma3 and gemma2 vs llama.cpp on small random-weight factory models, F32 weights and cache,
 * identical greedy tokens over 32 steps.
 *
 * Tolerance: gemma's GeGLU puts a half-precision rounding into the F32 graph. ggml's CPU GELU
 * (GGML_GELU_FP16, its default) rounds x to half, looks GELU up in a half table and rounds the
 * result to half; our reference set does the same (gegluGgml). A 1-ulp float difference in a gate
 * value (another summation order upstream: the AVX-512 build, or the few ulps our order still
 * differs from the AVX2 one) flips that rounding when the value sits within an ulp of a half
 * midpoint (~2.4e-4 per value, so a few of the ~400 GELUs per step flip now and then), and the
 * element moves by a half ulp: the same arithmetic as an F16 path, so logits are held to the
 * harness's halfTolerance (4 half-ulps x max |logit|). Steps without a flip stay at F32 level
 * (~1e-6 measured), so the median step must still be within the F32 bound of 1e-4. The windows are shorter than
 * prompt + continuation so the local layers' masks matter; the global RoPE base differs from the
 * local one; soft-capping caps are small enough to bend the scores and logits.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestModelSpec } from "../../src/model/factory/index.js";
import { halfTolerance, runConformance } from "./harness.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "conf-gemma-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = [1, 17, 250, 3, 99, 42, 7, 300, 12];
const small = {
  nEmbd: 64,
  nLayer: 3,
  nHead: 4,
  nHeadKv: 2,
  headDim: 32,
  nFf: 96,
  nCtx: 256,
  nVocab: 333,
  weightStd: 0.15,
  rmsEps: 1e-6,
  tiedEmbeddings: true,
};

export const GEMMA_CASES: [string, TestModelSpec][] = [
  [
    "gemma3 (2 local : 1 global, window 8, local RoPE base 10000 vs 1e6, q/k norm, GeGLU, tied)",
    { arch: "gemma3", ...small, ropeFreqBase: 1e6, swa: { window: 8, pattern: 3 } },
  ],
  [
    "gemma3 (per-layer pattern array, final soft-cap 4, local base from rope.freq_base_swa)",
    {
      arch: "gemma3",
      ...small,
      nLayer: 4,
      ropeFreqBase: 1e6,
      swa: { window: 5, pattern: [true, false, true, true], ropeFreqBaseSwa: 5000 },
      softcap: { final: 4 },
    },
  ],
  [
    "gemma2 (alternating window 8, attention soft-cap 1.5, final soft-cap 6)",
    { arch: "gemma2", ...small, nLayer: 4, swa: { window: 8 }, softcap: { attn: 1.5, final: 6 } },
  ],
];

for (const [name, spec] of GEMMA_CASES) {
  test(`${name}: F32 logits within the GeGLU half-rounding bound (median step 1e-4), greedy identical`, async () => {
    const r = await runConformance(dir, `${spec.arch}-${name.length}.gguf`, spec, PROMPT, 32);
    console.log(
      `${name}: max |dlogit| = ${r.maxErr.toExponential(2)} (|logit| <= ${r.scale.toFixed(2)}); first greedy diff ${r.firstDiff}; steps ${r.stepErr.map((e) => e.toExponential(1)).join(" ")}`,
    );
    assert.ok(r.maxErr <= halfTolerance(r.scale), `max logit error ${r.maxErr} > ${halfTolerance(r.scale)}`);
    const sorted = [...r.stepErr].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1];
    assert.ok(median <= 1e-4, `median step error ${median}: more than GELU half flips`);
    if (r.firstDiff >= 0)
      assert.ok(r.gapAtDiff < 1e-4, `greedy diverged at step ${r.firstDiff}, top-2 gap ${r.gapAtDiff}`);
  });
}

// The production path: WASM kernels (paged cache, windowed attentionPaged for gemma3, the TS
// soft-capped attention for gemma2) and the portable GeGLU, which computes GELU in float without
// ggml's half table: every GELU output then differs from llama.cpp's by up to half a half-ulp,
// the F16-path arithmetic of halfTolerance again.
for (const [name, spec] of GEMMA_CASES.filter((_, i) => i !== 1)) {
  test(`${name}, WASM kernels: logits within halfTolerance, greedy identical`, async () => {
    const { createWasmKernelSet } = await import("../../src/kernels/wasm/wasm-kernel-set.js");
    const ks = await createWasmKernelSet({ threads: 1 });
    try {
      const r = await runConformance(
        dir,
        `${spec.arch}-wasm-${name.length}.gguf`,
        spec,
        PROMPT,
        32,
        "f32",
        ks,
      );
      console.log(
        `${name} (WASM): max |dlogit| = ${r.maxErr.toExponential(2)} (|logit| <= ${r.scale.toFixed(2)}); first greedy diff ${r.firstDiff}`,
      );
      assert.ok(
        r.maxErr <= halfTolerance(r.scale),
        `max logit error ${r.maxErr} > ${halfTolerance(r.scale)}`,
      );
      if (r.firstDiff >= 0)
        assert.ok(
          r.gapAtDiff < halfTolerance(r.scale),
          `greedy diverged at step ${r.firstDiff}, top-2 gap ${r.gapAtDiff}`,
        );
    } finally {
      await ks.dispose();
    }
  });
}
