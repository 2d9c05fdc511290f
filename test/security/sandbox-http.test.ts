// HTTP-level check for issue #14 finding 1: a client (no model cooperation needed) reaches the
// sandbox through `reasoning.verifier: {type: "js_tests", tests}`. With the thinking budget at 0
// and `stop: ["</think>"]` the candidate's extracted code is empty, so the caller's tests run as
// they are. They try the published escapes; a benign test proves the tests did run (score > 0).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LLM } from "../../src/engine/llm.js";
import { buildServer } from "../../src/server/app.js";
import { SMALL, smallModel } from "../engine/helpers.js";

const TEMPLATE =
  "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}" +
  "{% if add_generation_prompt %}assistant:\n<think>\n{% endif %}";

const m = await smallModel({ ...SMALL, metadata: { "tokenizer.chat_template": TEMPLATE } });
const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 2 });
const srv = buildServer(llm, { modelId: "tiny" });
const dir = mkdtempSync(join(tmpdir(), "edgellm-js-tests-"));
after(async () => {
  await srv.app.close();
  await llm.close();
  m.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test("js_tests verifier over HTTP: the caller's tests run but cannot touch the server's files", async () => {
  const marker = join(dir, "pwned");
  const write = `.getBuiltinModule('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`;
  const tests = [
    "assert.equal(1 + 1, 2);",
    `return import('x').catch((e) => e.constructor.constructor('return process')()${write});`,
    `const e = new Error('x'); e.name = Symbol(); try { e.stack; String(e); } catch (h) { h.constructor.constructor('return process')()${write}; }`,
    `this.constructor.constructor('return process')()${write};`,
    "assert.equal(typeof process + typeof require + typeof fetch, 'undefinedundefinedundefined');",
    "while (true) {}",
  ];
  const r = await srv.app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    payload: {
      model: "tiny",
      messages: [{ role: "user", content: "Write add(a, b)." }],
      reasoning: { strategy: "best_of_n", samples: 1, verifier: { type: "js_tests", tests } },
      thinking_budget: 0,
      stop: ["</think>"],
      max_tokens: 16,
      seed: 1,
    },
  });
  assert.equal(r.statusCode, 200, r.body);
  assert.ok(!existsSync(marker), "a js_tests test wrote a file on the server");
  assert.doesNotMatch(r.body, /root:/);
  const scores: number[] = r.json().reasoning.scores;
  // The loop runs into the time limit and fails every test of that run; so this test expects a
  // score of 0 with the loop and checks the tests ran at all in a second request without it.
  assert.equal(scores.length, 1);
  const r2 = await srv.app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    payload: {
      model: "tiny",
      messages: [{ role: "user", content: "Write add(a, b)." }],
      reasoning: {
        strategy: "best_of_n",
        samples: 1,
        verifier: { type: "js_tests", tests: tests.slice(0, 5) },
      },
      thinking_budget: 0,
      stop: ["</think>"],
      max_tokens: 16,
      seed: 1,
    },
  });
  assert.equal(r2.statusCode, 200, r2.body);
  assert.ok(!existsSync(marker), "a js_tests test wrote a file on the server");
  // Tests 1 and 5 pass (the tests ran); 3 and 4 fail inside the guest (no process there); 2
  // returns a promise, which the synchronous test harness does not await (its rejection,
  // "'process' is not defined", stays inside the guest), so it counts as passed.
  assert.deepEqual(r2.json().reasoning.scores, [3 / 5], r2.body);
});
