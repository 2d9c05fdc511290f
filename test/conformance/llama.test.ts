/**
 * llama family vs llama.cpp on random-weight factory models: F32 weights within 1e-4 and identical
 * greedy tokens; quantized weights (activations quantized as ggml does, sums in ggml order) within 1e-4.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType } from "../../src/gguf/types.js";
import type { TestModelSpec } from "../../src/model/factory/index.js";
import { byteTolerance, halfTolerance, runConformance, typeTolerance } from "./harness.js";
import { TINY_SHAPE } from "../model/family-specs.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "conf-llama-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = [1, 17, 250, 3, 99, 42, 7, 300, 12];
const base: TestModelSpec = { arch: "llama", ...TINY_SHAPE };

test("llama F32, GQA 4/2, head_dim 16: logits within 1e-4, 32 greedy tokens identical", async () => {
  const r = await runConformance(dir, "llama-f32.gguf", base, PROMPT, 32);
  console.log(`llama F32 max |dlogit| = ${r.maxErr.toExponential(2)}`);
  assert.ok(r.maxErr <= 1e-4, `max logit error ${r.maxErr}`);
  assert.deepEqual(r.ours, r.ref);
});

// Quantized weights: activations are converted as ggml does (F16 -> F16, Q4_0/Q8_0 -> Q8_0,
// K-quants -> Q8_K) in the reference order (src/model/reference/ggml-order). Logits at the prompt
// and every teacher-forced step within harness.ts typeTolerance (a rounding flip from another
// float order cascades); greedy tokens must match except at a reference top-2 gap below it.
// F16 weights are compared with an F16 cache on both sides (llama.cpp's default).
const QUANT: [string, GGMLType][] = [
  ["F16", GGMLType.F16],
  ["Q8_0", GGMLType.Q8_0],
  ["Q4_0", GGMLType.Q4_0],
  ["Q4_K", GGMLType.Q4_K],
  ["Q6_K", GGMLType.Q6_K],
];
for (const [name, type] of QUANT) {
  test(`llama ${name} weights (embd 256, head_dim 64, 1 KV head): logits within the type's tolerance`, async () => {
    const spec: TestModelSpec = {
      ...base,
      nEmbd: 256,
      nHead: 4,
      nHeadKv: 1,
      nFf: 256,
      types: { weights: type },
    };
    const r = await runConformance(
      dir,
      `llama-${name}.gguf`,
      spec,
      PROMPT,
      16,
      type === GGMLType.F16 ? "f16" : "f32",
    );
    const tol = typeTolerance(type, r.scale, spec.nLayer);
    console.log(
      `llama ${name} max |dlogit| = ${r.maxErr.toExponential(2)} (max |logit| ${r.scale.toFixed(3)}, tol ${tol.toExponential(2)}); greedy first diff ${r.firstDiff} (gap ${r.gapAtDiff.toExponential(2)})`,
    );
    assert.ok(r.maxErr <= tol, `max logit error ${r.maxErr}`);
    if (r.firstDiff >= 0)
      assert.ok(r.gapAtDiff < tol, `greedy diverged at step ${r.firstDiff} with top-2 gap ${r.gapAtDiff}`);
  });
}

test("llama odd shapes: head_dim 80, MQA, tied embeddings, vocab 301", async () => {
  const spec: TestModelSpec = {
    ...base,
    nEmbd: 160,
    nHead: 2,
    nHeadKv: 1,
    headDim: 80,
    nFf: 64,
    nVocab: 301,
    tiedEmbeddings: true,
  };
  const r = await runConformance(dir, "llama-odd.gguf", spec, PROMPT, 32);
  console.log(`llama odd max |dlogit| = ${r.maxErr.toExponential(2)}`);
  assert.ok(r.maxErr <= 1e-4, `max logit error ${r.maxErr}`);
  assert.deepEqual(r.ours, r.ref);
});

// F16 KV cache: q, K, V and the softmax weights are rounded through half as ggml's F16 products do.
// Half rounding turns a 1-ulp float difference near a half midpoint into a 5e-4 relative one, so
// this only matches because every float sum, exp and RoPE product before it follows ggml's order
// (src/model/reference/ggml-order; before that, this case differed by 4.7e-4 and F16 weights by 6.2e-3).
test("llama head_dim 128, F16 KV cache: logits within 4 half units of the logit scale", async () => {
  const spec: TestModelSpec = { ...base, nEmbd: 256, nHead: 2, nHeadKv: 2, headDim: 128, nFf: 64 };
  const r = await runConformance(dir, "llama-kvf16.gguf", spec, PROMPT, 16, "f16");
  const tol = halfTolerance(r.scale);
  console.log(
    `llama F16-KV max |dlogit| = ${r.maxErr.toExponential(2)} (max |logit| ${r.scale.toFixed(3)}, tol ${tol.toExponential(2)})`,
  );
  assert.ok(r.maxErr <= tol, `max logit error ${r.maxErr}`);
  if (r.firstDiff >= 0) assert.ok(r.gapAtDiff < tol, `greedy diverged at ${r.firstDiff}`);
});

test("llama Q4_0 through the WASM SIMD kernels: logits within the 8-bit rounding tolerance of llama.cpp", async () => {
  const { createWasmKernelSet } = await import("../../src/kernels/wasm/wasm-kernel-set.js");
  const ks = await createWasmKernelSet({ threads: 1 });
  try {
    const spec: TestModelSpec = {
      ...base,
      nEmbd: 256,
      nHead: 4,
      nHeadKv: 1,
      nFf: 256,
      types: { weights: GGMLType.Q4_0 },
    };
    const r = await runConformance(dir, "llama-q4_0-wasm.gguf", spec, PROMPT, 16, "f32", ks);
    const tol = byteTolerance(r.scale);
    console.log(
      `llama Q4_0 (wasm) max |dlogit| = ${r.maxErr.toExponential(2)} (tol ${tol.toExponential(2)})`,
    );
    assert.ok(r.maxErr <= tol, `max logit error ${r.maxErr}`);
    if (r.firstDiff >= 0) assert.ok(r.gapAtDiff < tol, `greedy diverged at ${r.firstDiff}`);
  } finally {
    await ks.dispose();
  }
});
