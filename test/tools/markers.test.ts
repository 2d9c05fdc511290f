/**
 * Tool-call markers that are control tokens: DeepSeek V3's `<｜tool▁calls▁begin｜>`... are dropped
 * by the detokenizer, so the engine's text alone never shows a call. A random-weight llama GGUF
 * with the real DeepSeek V3 vocabulary and template (format detected from the template), driven
 * through the library agent model with a named tool_choice: the grammar makes the model emit the
 * marker tokens, the marker map puts their text back, and the call parses and validates (ajv).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM } from "../../src/engine/llm.js";
import { detectToolFormat } from "../../src/tools/formats.js";
import { llmAgentModel } from "../../src/tools/llm-agent.js";
import { droppedMarkers } from "../../src/tools/markers.js";
import { templateFor } from "../../src/tokenizer/chat-template.js";
import { validator } from "../grammar/ajv.js";
import { realTokenizer, type RealVocab, writeRealVocabModel } from "../grammar/vocab.js";

const DS = "deepseek_v3" as RealVocab;
const ARGS = {
  type: "object",
  properties: { a: { type: "integer", minimum: 0, maximum: 9 }, op: { enum: ["add", "mul"] } },
  required: ["a", "op"],
  additionalProperties: false,
};

test("marker map: DeepSeek's call markers are control tokens (mapped), Qwen's <tool_call> is text (not)", () => {
  const ds = realTokenizer(DS);
  assert.equal(detectToolFormat(templateFor(ds)).name, "deepseek");
  const m = droppedMarkers(ds, "deepseek");
  assert.deepEqual(
    [...m.values()].sort(),
    [
      "<｜tool▁call▁begin｜>",
      "<｜tool▁call▁end｜>",
      "<｜tool▁calls▁begin｜>",
      "<｜tool▁calls▁end｜>",
      "<｜tool▁sep｜>",
    ].sort(),
  );
  for (const [id] of m) assert.equal(ds.tokenBytes(id).length, 0); // what the detokenizer drops
  assert.equal(droppedMarkers(realTokenizer("qwen3"), "hermes").size, 0);
});

test("DeepSeek format end to end: named tool_choice yields a call that parses and validates", async () => {
  const dir = mkdtempSync(join(tmpdir(), "edgellm-markers-"));
  try {
    const path = join(dir, "m.gguf");
    await writeRealVocabModel(path, { vocab: DS, nCtx: 1024 });
    const llm = await loadLLM(path, { threads: 1, contextSize: 1024 });
    try {
      const tools = [{ type: "function" as const, function: { name: "calc", parameters: ARGS } }];
      const v = validator(ARGS);
      for (const seed of [1, 2]) {
        const shown: string[] = [];
        const model = llmAgentModel(llm, {
          maxTokens: 80,
          temperature: 1,
          seed,
          parallel: false,
          onText: (t) => shown.push(t),
        });
        const turn = await model([{ role: "user", content: "3 plus 4?" }], tools, {
          type: "function",
          function: { name: "calc" },
        });
        assert.equal(turn.toolCalls.length, 1, `seed ${seed}: ${JSON.stringify(turn)}`);
        assert.equal(turn.toolCalls[0].function.name, "calc");
        const args = JSON.parse(turn.toolCalls[0].function.arguments);
        assert.ok(v(args), turn.toolCalls[0].function.arguments);
        assert.ok(!shown.join("").includes("tool▁"), "call markup leaked into the shown text");
      }
    } finally {
      await llm.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
