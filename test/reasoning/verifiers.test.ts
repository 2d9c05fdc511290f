// Verifiers on good and bad candidates: arithmetic re-check on the training corpus's own worked
// answers (all must pass; corrupted ones must not), JSON-schema validity against ajv (a validator
// we did not write), regex, JS unit tests in the sandboxed worker (runaway code, escape attempts),
// the model judge's yes/no arithmetic, and combining.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { DEFAULT_DATA_CONFIG, generateDataset } from "../../src/train/data/generate.js";
import { ArithmeticVerifier, checkSteps } from "../../src/verify/arithmetic.js";
import { questionValue } from "../../src/verify/question.js";
import { evaluate } from "../../src/verify/expression.js";
import { JSONSchemaVerifier, extractJSON, validateJSON } from "../../src/verify/json-schema.js";
import { RegexVerifier } from "../../src/verify/regex.js";
import { JSTestsVerifier, runJSTests } from "../../src/verify/js-tests.js";
import { ModelJudgeVerifier, type JudgeModel } from "../../src/verify/model-judge.js";
import { combineVerifiers } from "../../src/verify/verifier.js";
import { validator } from "../grammar/ajv.js";

test("expression evaluator: precedence, unary minus, parentheses, symbols; junk is undefined", () => {
  assert.equal(evaluate("12 + 7 * 3"), 33);
  assert.equal(evaluate("(2 + 3) × 4 - -1"), 21);
  assert.equal(evaluate("7 ÷ 2"), 3.5);
  assert.equal(evaluate("1,000 x 3"), 3000);
  assert.equal(evaluate("2 +"), undefined);
  assert.equal(evaluate("alert(1)"), undefined);
  assert.equal(evaluate("(1"), undefined);
  assert.equal(evaluate("1/0"), undefined);
});

test("arithmetic verifier: every corpus answer passes, corrupted answers and steps fail", () => {
  const d = generateDataset({ ...DEFAULT_DATA_CONFIG, counts: { train: 0, val: 0, test: 300 } });
  const v = new ArithmeticVerifier();
  let parsed = 0;
  let n = 0;
  for (const e of d.test) {
    if (e.answer === undefined) continue;
    n++;
    const q = e.messages[0].content;
    const text = e.messages[1].content;
    const qv = questionValue(q);
    if (e.kind !== "word") assert.equal(qv, Number(e.answer), `question not read: ${q}`);
    if (qv !== undefined) parsed++;
    const good = v.verify({ question: q, text });
    assert.equal(good.score, 1, `${q}\n${text}\n${good.detail}`);
    const wrongAnswer = text.replace(
      new RegExp(`${e.answer.replace("-", "\\-")}(?=\\D*$)`),
      String(Number(e.answer) + 1),
    );
    assert.ok(v.verify({ question: q, text: wrongAnswer }).score <= 0.5, `${wrongAnswer}`);
    const steps = checkSteps(text);
    assert.equal(steps.correct, steps.total);
    assert.ok(steps.total >= 1);
  }
  assert.ok(n > 100 && parsed >= n * 0.6, `${parsed}/${n} questions parsed`);
  // A wrong column step lowers the process score even when the answer is right.
  const q = "What is 27 + 15?";
  const t =
    "<think>\n7 + 5 + 0 = 13, write 3, carry 1\n2 + 1 + 1 = 4\nso 27 + 15 = 42\n</think>\nThe answer is 42.";
  const r = v.verify({ question: q, text: t });
  assert.ok(r.score > 0.7 && r.score < 1, r.detail);
  assert.match(r.detail!, /wrong: 7 \+ 5 \+ 0 = 13/);
  // chained step ", +10 = 8"
  assert.deepEqual(checkSteps("2 - 4 - 0 = -2, +10 = 8, borrow 1"), { total: 2, correct: 2, last: 8 });
  // partial (process verifier) scores steps only
  assert.equal(v.verify({ question: q, text: "<think>\n7 + 5 + 0 = 12", partial: true }).score, 1);
  assert.equal(questionValue("Subtract 92 from 4."), -88);
  assert.equal(questionValue("3487 + 382 等于多少？"), 3869);
  assert.equal(questionValue("计算 12 乘以 3"), 36);
  assert.equal(questionValue("hello"), undefined);
});

test("JSON schema verifier agrees with ajv on valid and invalid values", () => {
  const schema = {
    type: "object",
    required: ["name", "age", "tags"],
    additionalProperties: false,
    $defs: { tag: { type: "string", minLength: 1, maxLength: 5, pattern: "^[a-z]+$" } },
    properties: {
      name: { type: "string" },
      age: { type: "integer", minimum: 0, exclusiveMaximum: 150 },
      tags: { type: "array", items: { $ref: "#/$defs/tag" }, uniqueItems: true, maxItems: 3 },
      kind: { enum: ["a", "b", null] },
      score: { anyOf: [{ type: "number", multipleOf: 0.5 }, { type: "null" }] },
      pair: { type: "array", prefixItems: [{ type: "string" }, { type: "boolean" }], items: false },
      one: { oneOf: [{ type: "integer" }, { type: "number", minimum: 2 }] },
      not: { not: { const: 3 } },
    },
  };
  const values: unknown[] = [
    { name: "x", age: 3, tags: [] },
    { name: "x", age: 3.5, tags: [] },
    { name: "x", age: 150, tags: [] },
    { name: "x", age: 1, tags: ["ab", "ab"] },
    { name: "x", age: 1, tags: ["abcdef"] },
    { name: "x", age: 1, tags: ["A"] },
    { name: "x", age: 1, tags: [], extra: 1 },
    { age: 1, tags: [] },
    { name: "x", age: 1, tags: [], kind: null, score: 1.5 },
    { name: "x", age: 1, tags: [], kind: "c" },
    { name: "x", age: 1, tags: [], score: 1.2 },
    { name: "x", age: 1, tags: [], pair: ["a", true] },
    { name: "x", age: 1, tags: [], pair: ["a", true, 1] },
    { name: "x", age: 1, tags: [], pair: [1] },
    { name: "x", age: 1, tags: [], one: 1 },
    { name: "x", age: 1, tags: [], one: 3 },
    { name: "x", age: 1, tags: [], one: 2.5 },
    { name: "x", age: 1, tags: [], not: 3 },
    { name: "x", age: 1, tags: [], not: 4 },
    [1],
    "str",
    null,
  ];
  const ajv = validator(schema);
  for (const x of values) assert.equal(validateJSON(x, schema).length === 0, ajv(x), JSON.stringify(x));
  const v = new JSONSchemaVerifier(schema);
  assert.equal(
    v.verify({
      question: "",
      text: '<think>{"no": 1}</think>\n```json\n{"name":"a","age":2,"tags":["x"]}\n```',
    }).score,
    1,
  );
  assert.equal(v.verify({ question: "", text: 'Here: {"name":"a","age":-2,"tags":[]} done' }).score, 0.25);
  assert.equal(v.verify({ question: "", text: "no json" }).score, 0);
  assert.deepEqual(extractJSON('x {"a": "}"} y'), { value: { a: "}" } });
  assert.throws(() => new JSONSchemaVerifier([] as never), InputError);
  assert.throws(() => validateJSON(1, { $ref: "#/$defs/missing" }), InputError);
});

test("regex verifier", () => {
  const v = new RegexVerifier("^\\s*The answer is -?\\d+\\.?$");
  assert.equal(v.verify({ question: "", text: "<think>x</think>\nThe answer is 42." }).score, 1);
  assert.equal(v.verify({ question: "", text: "<think>x</think>\nmaybe 42" }).score, 0);
  assert.throws(() => new RegexVerifier("("), InputError);
});

test("JS unit tests verifier: passes, fails, runaway loops, no escape to the host", async () => {
  const tests = [
    "assert.equal(add(2, 3), 5);",
    "assert.deepEqual([add(-1, 1)], [0]);",
    "assert.throws(() => add());",
  ];
  const v = new JSTestsVerifier(tests);
  const good =
    "<think>easy</think>\n```js\nfunction add(a, b) { if (a === undefined) throw new Error('x'); return a + b; }\n```";
  const bad = "```js\nfunction add(a, b) { return a - b; }\n```";
  assert.equal((await v.verify({ question: "", text: good })).score, 1);
  const b = await v.verify({ question: "", text: bad });
  assert.equal(b.score, 0);
  assert.match(b.detail!, /-1 !== 5/);
  // An infinite loop in the code or a test is cut; the verifier answers, every test failed.
  const t0 = performance.now();
  const loop = await runJSTests("while (true) {}", ["assert(true)"], { timeoutMs: 300 });
  assert.match(loop.fatal!, /time limit/);
  const spin = await runJSTests("function f(){}", ["for(;;){}"], { timeoutMs: 300 });
  assert.deepEqual(spin.passed, [false]);
  const syntax = await runJSTests("function (", ["assert(true)"]);
  assert.ok(syntax.fatal && syntax.passed.every((p) => !p), syntax.fatal);
  assert.ok(performance.now() - t0 < 5000);
  // The context holds no host objects: no process, require, or Function-constructor route to them.
  const esc = await runJSTests("function f() {}", [
    "assert.equal(typeof process, 'undefined')",
    "assert.equal(typeof require, 'undefined')",
    "let G; try { G = assert.constructor.constructor('return this')(); } catch { return; } assert.equal(typeof G.process, 'undefined')",
    "let G; try { G = f.constructor('return globalThis')(); } catch { return; } assert.equal(typeof G.process, 'undefined')",
  ]);
  assert.deepEqual(esc.passed, [true, true, true, true], esc.errors.join("|"));
  assert.throws(() => new JSTestsVerifier([]), InputError);
});

test("model judge: P(yes) / (P(yes) + P(no)) from the top tokens; no opinion is 0.5", async () => {
  const fake = (top: [string, number][]): JudgeModel => ({
    nextTokens: async () => top.map(([text, p]) => ({ text, logprob: Math.log(p) })),
  });
  const a = await new ModelJudgeVerifier(
    fake([
      [" Yes", 0.6],
      ["yes", 0.1],
      [" No", 0.2],
      ["maybe", 0.1],
    ]),
  ).verify({ question: "q", text: "a" });
  assert.ok(Math.abs(a.score - 0.7 / 0.9) < 1e-9);
  const zh = await new ModelJudgeVerifier(
    fake([
      ["是", 0.2],
      ["否", 0.6],
    ]),
  ).verify({ question: "q", text: "a" });
  assert.ok(Math.abs(zh.score - 0.25) < 1e-9);
  const none = await new ModelJudgeVerifier(fake([["the", 0.9]])).verify({ question: "q", text: "a" });
  assert.equal(none.score, 0.5);
  let seen = "";
  const spy: JudgeModel = {
    nextTokens: async (m) => {
      seen = m.map((x) => x.content).join("\n");
      return [];
    },
  };
  await new ModelJudgeVerifier(spy).verify({
    question: "What is 2+2?",
    text: "<think>hmm</think>\nThe answer is 4.",
  });
  assert.match(seen, /What is 2\+2\?[\s\S]*Proposed answer: The answer is 4\./);
});

test("combined verifiers: mean and min", async () => {
  const one = { name: "one", verify: () => ({ score: 1 }) };
  const zero = { name: "zero", verify: async () => ({ score: 0 }) };
  assert.equal((await combineVerifiers([one, zero]).verify({ question: "", text: "" })).score, 0.5);
  assert.equal((await combineVerifiers([one, zero], "min").verify({ question: "", text: "" })).score, 0);
});
