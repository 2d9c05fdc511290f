/**
 * llama family vs llama.cpp on random-weight factory models: F32 weights within 1e-4 and identical
 * greedy tokens; quantized weights (activations quantized as ggml does) within 1e-3.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType } from "../../src/gguf/types.js";
import type { TestModelSpec } from "../../src/model/factory/index.js";
import { runConformance } from "./harness.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "conf-llama-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = [1, 17, 250, 3, 99, 42, 7, 300, 12];
const base: TestModelSpec = { arch: "llama", nEmbd: 64, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 96, nCtx: 256, nVocab: 333, weightStd: 0.15 };

test("llama F32, GQA 4/2, head_dim 16: logits within 1e-4, 32 greedy tokens identical", async () => {
  const r = await runConformance(dir, "llama-f32.gguf", base, PROMPT, 32);
  console.log(`llama F32 max |dlogit| = ${r.maxErr.toExponential(2)}`);
  assert.ok(r.maxErr <= 1e-4, `max logit error ${r.maxErr}`);
  assert.deepEqual(r.ours, r.ref);
});
