/**
 * The trained model gives the same greedy answers under llama.cpp (node-llama-cpp, CPU) as under
 * edgellm's engine. For held-out problems we decode greedily with our engine (the GGUF's chat
 * template and tokenizer), then feed prompt + our completion to llama.cpp and require, at every
 * completion position, that our token is llama.cpp's argmax — or a near-tie (logit gap below a
 * stated tolerance; vLLM's check_logprobs_close rule). Uses the committed default model when it
 * exists (F32 and Q8_0), else a model trained here by the `tiny` preset in a few seconds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPipeline } from "../../src/train/pipeline.js";
import { presetByName } from "../../src/train/presets.js";
import { arithmeticTestItems } from "../../src/train/eval/arithmetic.js";
import { llamaCppAgrees } from "./llamacpp-agree.js";

const MODELS = new URL("../../../models/", import.meta.url).pathname;

async function modelFiles(dir: string): Promise<{ f32: string; q8: string; trained: boolean }> {
  const f32 = join(MODELS, "edgellm-default-f32.gguf");
  const q8 = join(MODELS, "edgellm-default-q8_0.gguf");
  if (existsSync(f32) && existsSync(q8)) return { f32, q8, trained: true };
  const s = await runPipeline({ preset: presetByName("tiny"), workDir: dir, outDir: dir, threads: 1 });
  return { f32: s.files[0], q8: s.files[1], trained: false };
}

async function check(path: string, tol: number, n: number, maxTokens: number) {
  const questions = arithmeticTestItems(n).map((it) => it.question);
  const r = await llamaCppAgrees(path, questions, { tol, maxTokens });
  assert.ok(r.positions > questions.length, `too few generated tokens compared (${r.positions})`);
  return r;
}

test("greedy decoding agrees with llama.cpp on held-out problems (F32 and Q8_0 exports)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "edgellm-greedy-"));
  try {
    const m = await modelFiles(dir);
    const f = await check(m.f32, 1e-3, m.trained ? 6 : 3, m.trained ? 200 : 24);
    // Q8_0: llama.cpp quantizes activations to Q8 in its dot products; near-ties may flip
    const q = await check(m.q8, 5e-2, m.trained ? 6 : 3, m.trained ? 200 : 24);
    t.diagnostic(
      `${m.trained ? "default" : "tiny"} model: F32 ${f.exact}/${f.positions}, Q8_0 ${q.exact}/${q.positions} positions identical`,
    );
    assert.ok(f.exact / f.positions > 0.99, `F32: ${f.exact}/${f.positions} positions identical`);
    assert.ok(q.exact / q.positions > 0.95, `Q8_0: ${q.exact}/${q.positions} positions identical`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
