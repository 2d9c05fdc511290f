/**
 * Schema-constrained decoding with a real random-weight model: a llama GGUF from our factory
 * carrying the Qwen3 vocabulary (151k tokens), run by our forward pass; each step's logits go
 * through the grammar (as a sampler-chain processor) and a seeded softmax draw. The output must
 * parse and validate (ajv) every time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Candidates } from "../../src/sampling/candidates.js";
import { compileGrammar, GrammarMatcher, jsonSchemaToGBNF } from "../../src/sampling/grammar/index.js";
import { loadModel } from "../../src/model/index.js";
import type { Tokenizer } from "../../src/tokenizer/tokenizer.js";
import { loadLLM } from "../../src/engine/llm.js";
import { runAgent } from "../../src/tools/agent.js";
import { calculatorTool } from "../../src/tools/builtin/calculator.js";
import { llmAgentModel } from "../../src/tools/llm-agent.js";
import { ToolSet } from "../../src/tools/registry.js";
import { validator } from "./ajv.js";
import { mulberry32, randomSchema } from "./random-schema.js";
import { realTokenizer, writeRealVocabModel } from "./vocab.js";

test("random-weight model + grammar: 5 random schemas, every output parses and validates", async () => {
  const dir = mkdtempSync(join(tmpdir(), "edgellm-grammar-model-"));
  try {
    const path = join(dir, "m.gguf");
    await writeRealVocabModel(path);
    const model = await loadModel(path);
    const tok: Tokenizer = realTokenizer("qwen3");
    const rnd = mulberry32(2024);
    const prompt = tok.encode("Answer in JSON:");
    for (let k = 0; k < 5; k++) {
      const schema = randomSchema(rnd);
      const m = new GrammarMatcher(compileGrammar(jsonSchemaToGBNF(schema), tok));
      const cache = model.newCache(512);
      let logits = model.forward(prompt, cache)[0];
      const out: number[] = [];
      for (let step = 0; step < 200; step++) {
        const c = Candidates.fromLogits(logits);
        m.apply(c);
        assert.ok(c.size > 0);
        const p = c.probs();
        let u = rnd();
        let pick = c.ids[c.size - 1];
        for (let i = 0; i < c.size; i++)
          if ((u -= p[i]) < 0) {
            pick = c.ids[i];
            break;
          }
        m.accept(pick);
        if (tok.isEog(pick)) break;
        out.push(pick);
        logits = model.forward([pick], cache)[0];
      }
      assert.ok(m.isDone(), `unfinished after 200 tokens: ${tok.decode(out)}`);
      const text = tok.decode(out);
      const v = validator(schema);
      assert.ok(v(JSON.parse(text)), `${JSON.stringify(schema)} -> ${text}`);
    }
    // The same file through the library LLM and the agent loop (unconstrained text, parsed).
    const llm = await loadLLM(path, { kernels: "ts" });
    try {
      const seen: string[] = [];
      const r = await runAgent({
        model: llmAgentModel(llm, { maxTokens: 6, onText: (t) => seen.push(t) }),
        tools: new ToolSet([calculatorTool]),
        messages: [{ role: "user", content: "What is 2+2?" }],
        maxSteps: 2,
      });
      assert.equal(r.messages[0].content, "What is 2+2?");
      assert.ok(r.steps >= 1 && r.steps <= 2);
      assert.equal(typeof r.final, "string");
      assert.ok(seen.join("").trim().startsWith(r.final.slice(0, 3)));
    } finally {
      await llm.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
