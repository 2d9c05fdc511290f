// The one verification module: one evaluator in two dialects, one question reader used by the
// router and reasoning alike, and a policy spec and a request spec built by one buildVerifier.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { evaluate, evaluateStrict } from "../../src/verify/expression.js";
import { findExpression, questionValue } from "../../src/verify/question.js";
import { buildVerifier } from "../../src/verify/spec.js";
import { accepts } from "../../src/verify/verifier.js";
import { agreement } from "../../src/verify/vote.js";

test("evaluator dialects: arithmetic reads x and thousands separators; calculator has names and ^", () => {
  assert.equal(evaluate("1,000 x 3"), 3000);
  assert.equal(evaluate("e + 1"), undefined, "no names in the arithmetic dialect");
  assert.equal(evaluate("2 ^ 3"), undefined);
  assert.equal(evaluate("(".repeat(500) + "1" + ")".repeat(500)), undefined, "too deep is not a crash");
  assert.equal(evaluateStrict("2 ^ 3 + max(1,700)"), 708, "a comma is an argument separator");
  assert.throws(() => evaluateStrict("12 x 3"), InputError, "x is a name in the calculator");
  assert.throws(() => evaluateStrict("1 +", "arithmetic"), /arithmetic: unexpected end of input/);
});

test("question reader: chains of operator words, Chinese operators only between numbers, stray parentheses", () => {
  assert.equal(findExpression("What is 12 plus 7 minus 3?"), "12 + 7 - 3");
  assert.equal(questionValue("What is 1,000 + 5?"), 1005);
  assert.equal(questionValue("(what is 2 + 3)"), 5);
  assert.equal(questionValue("35 加上 7 是多少？"), 42);
  assert.equal(questionValue("6 乘 7"), 42);
  assert.equal(findExpression("乘客有 3 个"), undefined);
});

test("one spec type: policy and request specs build Verifiers with a pass/fail reading", async () => {
  const ar = buildVerifier({ type: "arithmetic" });
  assert.equal(accepts(await ar.verify({ question: "What is 2 + 2?", text: "4" })), true);
  assert.equal(accepts(await ar.verify({ question: "What is 2 + 2?", text: "5" })), false);
  assert.equal(accepts(await ar.verify({ question: "Who wrote Hamlet?", text: "Shakespeare" })), undefined);
  const refusal = buildVerifier({ type: "refusal", pattern: "can't answer", flags: "i" });
  assert.equal((await refusal.verify({ question: "q", text: "I CAN'T ANSWER that" })).score, 0);
  assert.equal(
    (await buildVerifier({ type: "nonempty" }).verify({ question: "q", text: "<think>x</think> " })).score,
    0,
  );
  assert.throws(() => buildVerifier({ type: "model_judge" }), InputError);
  assert.deepEqual(agreement([]), { share: 0, index: -1 });
});
