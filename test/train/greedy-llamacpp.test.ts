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
import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";
import { loadLLM } from "../../src/engine/llm.js";
import { runPipeline } from "../../src/train/pipeline.js";
import { presetByName } from "../../src/train/presets.js";
import { arithmeticTestItems, finalAnswer } from "../../src/train/eval/arithmetic.js";

const MODELS = new URL("../../../models/", import.meta.url).pathname;

async function modelFiles(dir: string): Promise<{ f32: string; q8: string; trained: boolean }> {
  const f32 = join(MODELS, "edgellm-default-f32.gguf");
  const q8 = join(MODELS, "edgellm-default-q8_0.gguf");
  if (existsSync(f32) && existsSync(q8)) return { f32, q8, trained: true };
  const s = await runPipeline({ preset: presetByName("tiny"), workDir: dir, outDir: dir, threads: 1 });
  return { f32: s.files[0], q8: s.files[1], trained: false };
}

async function check(path: string, tol: number, n: number, maxTokens: number) {
  const items = arithmeticTestItems(n);
  const llm = await loadLLM(path, { kernels: "wasm", threads: 1, parallel: 1 });
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: path });
  const ctx = await model.createContext({
    contextSize: llm.contextSize,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
  let agreeAnswers = 0;
  let positions = 0;
  let exact = 0;
  try {
    for (const it of items) {
      const messages = [{ role: "user" as const, content: it.question }];
      const prompt = llm.encodeChat(messages);
      const c = await llm.complete({ messages }, { temperature: 0, maxTokens });
      const ours = c.choices[0].tokens;
      const seq = ctx.getSequence();
      try {
        const all = [...prompt, ...ours];
        const input: ControlledEvaluateInputItem[] = all.map((t, i) =>
          i >= prompt.length - 1 && i < all.length - 1
            ? [t as Token, { generateNext: { logits: true } }]
            : (t as Token),
        );
        const out = await seq.controlledEvaluate(input);
        for (let j = 0; j < ours.length; j++) {
          const lg = out[prompt.length - 1 + j]?.next?.logits;
          assert.ok(lg, `no llama.cpp logits at completion position ${j}`);
          const [best, bestLogit] = lg.entries().next().value!;
          const mine = lg.get(ours[j] as Token)!;
          positions++;
          if (best === ours[j]) exact++;
          else
            assert.ok(
              bestLogit - mine <= tol,
              `${path}: "${it.question}" position ${j}: llama.cpp picks ${best} (${bestLogit}), we picked ${ours[j]} (${mine})`,
            );
        }
        // llama.cpp's greedy answer is ours whenever every position agreed; record the answers
        if (finalAnswer(c.choices[0].text) !== null) agreeAnswers++;
      } finally {
        seq.dispose();
      }
    }
  } finally {
    await ctx.dispose();
    await model.dispose();
    await llm.close();
  }
  assert.ok(positions > items.length, `too few generated tokens compared (${positions})`);
  return { positions, exact, agreeAnswers };
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
