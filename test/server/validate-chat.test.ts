// The chat request schema (server/openai/validate.ts) on its reasoning extension fields, without a
// model: bad values are an ApiError 400 whose `param` is the JSON path of the offending field and
// whose message names it; good values become the typed ReasoningFields the chat route runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateChat } from "../../src/server/openai/validate.js";
import { ApiError } from "../../src/server/openai/errors.js";

const chat = (extra: object) =>
  validateChat({ model: "m", messages: [{ role: "user", content: "2 + 3?" }], ...extra }, ["m"]);

test("reasoning fields: each bad value is a 400 naming its param", () => {
  const cases: [object, string, string][] = [
    [{ reasoning: { strategy: "beam" } }, "reasoning.strategy", "invalid_value"],
    [{ reasoning: { strategy: "mcts", budget: 8 } }, "reasoning.budget", "invalid_value"],
    [{ reasoning: { strategy: "mcts", budget: "lots" } }, "reasoning.budget", "invalid_type"],
    [{ reasoning: { strategy: "sc", budget: 512 } }, "reasoning.budget", "invalid_request_error"],
    [{ reasoning: { strategy: "sc", samples: 17 } }, "reasoning.samples", "invalid_value"],
    [{ reasoning: { samples: "8" } }, "reasoning.samples", "invalid_type"],
    [{ reasoning: { strategy: "best_of_n" } }, "reasoning.verifier", "invalid_request_error"],
    [{ reasoning: { verifier: { type: "oracle" } } }, "reasoning.verifier.type", "invalid_value"],
    [{ reasoning: { verifier: "oracle" } }, "reasoning.verifier.type", "invalid_value"],
    [{ reasoning: { verifier: 5 } }, "reasoning.verifier", "invalid_type"],
    [
      { reasoning: { verifier: { type: "regex", pattern: "" } } },
      "reasoning.verifier.pattern",
      "invalid_value",
    ],
    [
      { reasoning: { verifier: { type: "regex", pattern: "(a)\\1" } } },
      "reasoning.verifier.pattern",
      "invalid_value",
    ],
    [
      {
        reasoning: { verifier: { type: "json_schema", schema: { properties: { a: { pattern: "(?=x)" } } } } },
      },
      "reasoning.verifier.schema",
      "invalid_value",
    ],
    [
      { reasoning: { verifier: { type: "json_schema", schema: 3 } } },
      "reasoning.verifier.schema",
      "invalid_type",
    ],
    [
      { reasoning: { verifier: { type: "js_tests", tests: [] } } },
      "reasoning.verifier.tests",
      "invalid_value",
    ],
    [
      { reasoning: { verifier: { type: "js_tests", tests: [1] } } },
      "reasoning.verifier.tests[0]",
      "invalid_type",
    ],
    [{ reasoning: { agreement: 0 } }, "reasoning.agreement", "invalid_value"],
    [{ reasoning: { extractor: "last" } }, "reasoning.extractor", "invalid_value"],
    [{ reasoning: { answer_regex: "(?<!x)y" } }, "reasoning.answer_regex", "invalid_value"],
    [{ reasoning: { selection: "worst" } }, "reasoning.selection", "invalid_value"],
    [{ reasoning: { early_stop: "no" } }, "reasoning.early_stop", "invalid_type"],
    [{ reasoning: { bogus: 1 } }, "reasoning.bogus", "invalid_value"],
    [{ reasoning: "sc" }, "reasoning", "invalid_type"],
    [{ reasoning: { strategy: "sc" }, stream: true }, "stream", "unsupported"],
    [{ reasoning: { strategy: "sc" }, n: 2 }, "n", "invalid_request_error"],
    [{ thinking_budget: -1 }, "thinking_budget", "invalid_value"],
    [{ thinking_budget: 2.5 }, "thinking_budget", "invalid_type"],
    [{ thinking_budget: 8, enable_thinking: false }, "thinking_budget", "invalid_request_error"],
    [{ enable_thinking: "yes" }, "enable_thinking", "invalid_type"],
    [{ chat_template_kwargs: [] }, "chat_template_kwargs", "invalid_type"],
    [
      { chat_template_kwargs: { enable_thinking: 1 } },
      "chat_template_kwargs.enable_thinking",
      "invalid_type",
    ],
    [{ reasoning_format: "raw" }, "reasoning_format", "invalid_value"],
    [{ reasoning_format: 1 }, "reasoning_format", "invalid_value"],
    [{ separate_reasoning: "yes" }, "separate_reasoning", "invalid_type"],
  ];
  for (const [body, param, code] of cases) {
    assert.throws(
      () => chat(body),
      (e: unknown) => {
        assert.ok(e instanceof ApiError, JSON.stringify(body));
        assert.equal(e.status, 400, JSON.stringify(body));
        assert.equal(e.param, param, JSON.stringify(body));
        assert.equal(e.code ?? "invalid_request_error", code, `${JSON.stringify(body)}: ${e.message}`);
        assert.ok(e.message.includes(`'${param}'`), `${JSON.stringify(body)}: ${e.message}`);
        return true;
      },
    );
  }
});

test("reasoning fields: defaults and the typed result", () => {
  assert.equal(chat({}).thinking, undefined);
  assert.equal(chat({}).reasoningFormat, "auto");
  assert.equal(chat({ reasoning_format: null, separate_reasoning: false }).reasoningFormat, "none");
  assert.equal(chat({ separate_reasoning: true }).reasoningFormat, "deepseek");
  assert.equal(chat({ reasoning_format: "none", separate_reasoning: true }).reasoningFormat, "none");
  assert.deepEqual(chat({ chat_template_kwargs: { enable_thinking: false, other: 1 } }).thinking, {
    enableThinking: false,
    thinkingBudget: undefined,
    strategy: undefined,
  });
  assert.deepEqual(chat({ thinking_budget: 0 }).thinking?.thinkingBudget, 0);
  const sc = chat({ reasoning: { strategy: "sc", answer_regex: "(\\d+)" } }).thinking?.strategy;
  assert.deepEqual(sc, {
    name: "self_consistency",
    samples: 8,
    earlyStop: true,
    agreement: undefined,
    extractor: { regex: "(\\d+)" },
    verifier: undefined,
    selection: "best",
  });
  assert.equal(chat({ reasoning: {} }).thinking?.strategy?.samples, 1);
  const mc = chat({ reasoning: { strategy: "mcts", samples: 3, budget: 600 } }).thinking?.strategy;
  assert.equal(mc?.name, "mcts");
  assert.equal(mc?.samples, 3);
  assert.equal(mc?.budget, 600);
  const bon = chat({
    reasoning: {
      strategy: "bon",
      verifier: { type: "js_tests", tests: ["x"], extra: 1 },
      selection: "weighted",
    },
  }).thinking?.strategy;
  assert.deepEqual(bon?.verifier, { type: "js_tests", tests: ["x"] });
  assert.deepEqual(
    chat({ reasoning: { strategy: "bon", verifier: "model_judge" } }).thinking?.strategy?.verifier,
    {
      type: "model_judge",
    },
  );
});
