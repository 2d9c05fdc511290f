/**
 * The engine's constraint hook (SequenceRequest.constraint): a random-weight llama GGUF from our
 * factory with the real Qwen3 vocabulary (151k tokens), served by the library LLM (engine, paged
 * KV, sampler chain). With a JSON-Schema grammar as the constraint, every sample of every random
 * schema must parse and validate (ajv, a validator we did not write), and end with "stop" by
 * itself (grammar done or EOG), not by running out of tokens.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM, type LLM } from "../../src/engine/llm.js";
import { compileGrammar, GrammarMatcher, jsonSchemaToGBNF } from "../../src/sampling/grammar/index.js";
import { validator } from "../grammar/ajv.js";
import { mulberry32, randomSchema } from "../grammar/random-schema.js";
import { writeRealVocabModel } from "../grammar/vocab.js";

let dir: string;
let llm: LLM;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "edgellm-constraint-"));
  const path = join(dir, "m.gguf");
  await writeRealVocabModel(path);
  llm = await loadLLM(path, { threads: 1, parallel: 4, contextSize: 512 });
});

after(async () => {
  await llm?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("engine constraint: 3 random schemas x 2 samples each, every output parses and validates", async () => {
  const rnd = mulberry32(77);
  for (let k = 0; k < 3; k++) {
    const schema = randomSchema(rnd);
    const tg = compileGrammar(jsonSchemaToGBNF(schema), llm.tokenizer);
    const r = await llm.complete("Answer in JSON:", {
      n: 2,
      maxTokens: 300,
      temperature: 1,
      seed: 100 + k,
      constraint: () => new GrammarMatcher(tg),
    });
    const v = validator(schema);
    for (const ch of r.choices) {
      assert.equal(
        ch.finishReason,
        "stop",
        `${JSON.stringify(schema)}: ${ch.finishReason} after ${ch.tokens.length} tokens: ${ch.text}`,
      );
      let parsed: unknown;
      assert.doesNotThrow(() => (parsed = JSON.parse(ch.text)), `not JSON: ${ch.text}`);
      assert.ok(v(parsed), `${JSON.stringify(schema)} -> ${ch.text}: ${JSON.stringify(v.errors)}`);
    }
  }
});

test("engine constraint: greedy json_object, and unconstrained output of the same model is not JSON", async () => {
  const tg = compileGrammar(
    jsonSchemaToGBNF({ type: "object", properties: { a: { type: "integer" } }, required: ["a"] }),
    llm.tokenizer,
  );
  const c = await llm.complete("x", {
    maxTokens: 200,
    temperature: 0,
    constraint: () => new GrammarMatcher(tg),
  });
  const o = JSON.parse(c.choices[0].text);
  assert.equal(typeof o.a, "number");
  // The check above means something: without the constraint this random model rambles.
  const u = await llm.complete("x", { maxTokens: 20, temperature: 0 });
  assert.throws(() => JSON.parse(u.choices[0].text));
});

test("engine constraint: a forced token the grammar rejects fails that sequence only", async () => {
  const tg = compileGrammar('root ::= "{" [a-z]* "}"', llm.tokenizer);
  const bad = llm.tokenizer.encode("Z")[0];
  const gen = llm.generate("x", {
    maxTokens: 5,
    constraint: () => new GrammarMatcher(tg),
    forceToken: () => bad,
  });
  await assert.rejects(async () => {
    for await (const _ of gen) void _;
  }, /not allowed/);
  // The engine still serves the next request.
  const ok = await llm.complete("x", {
    maxTokens: 30,
    temperature: 0,
    constraint: () => new GrammarMatcher(tg),
  });
  assert.match(ok.choices[0].text, /^\{[a-z]*\}?$/);
});
