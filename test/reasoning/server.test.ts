// Server extension fields on /v1/chat/completions (fastify inject, small random-weight model whose
// chat template opens <think> like DeepSeek-R1/Qwen3): validation 400s with the OpenAI error body,
// thinking_budget enforced with reasoning_content split off (JSON and SSE agree) and counted as
// completion_tokens_details.reasoning_tokens, and the self_consistency / best_of_n strategies.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { LLM } from "../../src/engine/llm.js";
import { buildServer } from "../../src/server/app.js";
import { budgetFor } from "../../src/reasoning/budget.js";
import { SMALL, smallModel } from "../engine/helpers.js";

const TEMPLATE =
  "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}" +
  "{% if add_generation_prompt %}assistant:\n{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% else %}<think>\n{% endif %}{% endif %}";

const m = await smallModel({ ...SMALL, metadata: { "tokenizer.chat_template": TEMPLATE } });
const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 4 });
const srv = buildServer(llm, { modelId: "tiny" });
after(async () => {
  await srv.app.close();
  await llm.close();
  m.cleanup();
});

const CLOSE = budgetFor(m.tokenizer, 0).close.length;
const post = (body: object) =>
  srv.app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    payload: { model: "tiny", messages: [{ role: "user", content: "What is 2 + 3?" }], ...body },
  });

test("reasoning fields: invalid values are 400 with the offending param", async () => {
  const cases: [object, string][] = [
    [{ reasoning: { strategy: "tree" } }, "reasoning.strategy"],
    [{ reasoning: { strategy: "mcts", budget: 1 } }, "reasoning.budget"],
    [{ reasoning: { strategy: "mcts" }, stream: true }, "stream"],
    [{ reasoning: { strategy: "self_consistency", samples: 0 } }, "reasoning.samples"],
    [{ reasoning: { strategy: "self_consistency", samples: 17 } }, "reasoning.samples"],
    [{ reasoning: { strategy: "best_of_n" } }, "reasoning.verifier"],
    [{ reasoning: { strategy: "best_of_n", verifier: { type: "oracle" } } }, "reasoning.verifier.type"],
    [
      { reasoning: { strategy: "best_of_n", verifier: { type: "regex", pattern: "(" } } },
      "reasoning.verifier.pattern",
    ],
    [{ reasoning: { strategy: "self_consistency", agreement: 1.5 } }, "reasoning.agreement"],
    [{ reasoning: { strategy: "self_consistency", answer_regex: "[" } }, "reasoning.answer_regex"],
    [{ reasoning: { strategy: "self_consistency", bogus: 1 } }, "reasoning.bogus"],
    [{ reasoning: { strategy: "self_consistency" }, stream: true }, "stream"],
    [{ reasoning: { strategy: "self_consistency" }, n: 2 }, "n"],
    [{ reasoning: "sc" }, "reasoning"],
    [{ thinking_budget: -1 }, "thinking_budget"],
    [{ thinking_budget: 2.5 }, "thinking_budget"],
    [{ thinking_budget: 8, enable_thinking: false }, "thinking_budget"],
    [{ enable_thinking: "yes" }, "enable_thinking"],
    [{ chat_template_kwargs: { enable_thinking: 1 } }, "chat_template_kwargs.enable_thinking"],
  ];
  for (const [body, param] of cases) {
    const r = await post(body);
    assert.equal(r.statusCode, 400, JSON.stringify(body));
    const e = r.json().error;
    assert.equal(e.param, param, JSON.stringify(body));
    assert.equal(e.type, "invalid_request_error");
  }
});

test("thinking_budget: reasoning_content split off, budget held, answer comes; SSE == JSON", async () => {
  for (const budget of [0, 5]) {
    const body = {
      thinking_budget: budget,
      max_tokens: budget + CLOSE + 12,
      temperature: 0,
      ignore_eos: true,
    };
    const r = await post(body);
    assert.equal(r.statusCode, 200, r.body);
    const j = r.json();
    const msg = j.choices[0].message;
    assert.equal(typeof msg.reasoning_content, "string");
    assert.ok(msg.content.length > 0, "answer content after the block");
    assert.ok(!msg.content.includes("</think>"));
    const rt = j.usage.completion_tokens_details.reasoning_tokens;
    assert.ok(rt <= budget + CLOSE, `reasoning tokens ${rt} > ${budget} + ${CLOSE}`);
    assert.ok(j.usage.completion_tokens > rt);
    // Streaming gives the same split, piece by piece.
    const s = await post({ ...body, stream: true, stream_options: { include_usage: true } });
    let reasoning = "";
    let content = "";
    let usage: { completion_tokens_details: { reasoning_tokens: number } } | undefined;
    for (const line of s.body.split("\n")) {
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const ev = JSON.parse(line.slice(6));
      if (ev.usage) usage = ev.usage;
      for (const c of ev.choices) {
        reasoning += c.delta.reasoning_content ?? "";
        content += c.delta.content ?? "";
      }
    }
    assert.equal(reasoning, msg.reasoning_content);
    assert.equal(content, msg.content);
    assert.equal(usage?.completion_tokens_details.reasoning_tokens, rt);
  }
});

test("no reasoning fields: this template writes <think>, so reasoning_content is split by default", async () => {
  const j = (await post({ max_tokens: 4, temperature: 0 })).json();
  assert.equal(typeof j.choices[0].message.reasoning_content, "string");
  assert.equal(typeof j.usage.completion_tokens_details.reasoning_tokens, "number");
});

test("reasoning_format none: the response is unchanged (no reasoning_content, no details)", async () => {
  for (const f of [{ reasoning_format: "none" }, { separate_reasoning: false }]) {
    const j = (await post({ max_tokens: 4, temperature: 0, ...f })).json();
    assert.equal(j.choices[0].message.reasoning_content, undefined, JSON.stringify(f));
    assert.equal(j.usage.completion_tokens_details, undefined, JSON.stringify(f));
  }
});

test("reasoning strategies: self_consistency reports votes and samples saved; best_of_n scores", async () => {
  const sc = await post({
    reasoning: { strategy: "self_consistency", samples: 4, early_stop: true, answer_regex: "." },
    thinking_budget: 2,
    max_tokens: 2 + CLOSE + 4,
    seed: 3,
    ignore_eos: true,
  });
  assert.equal(sc.statusCode, 200, sc.body);
  const a = sc.json();
  assert.equal(a.reasoning.strategy, "self_consistency");
  assert.equal(a.reasoning.samples, 4);
  assert.equal(a.reasoning.samples_used + a.reasoning.samples_saved, 4);
  assert.ok(Array.isArray(a.reasoning.votes));
  assert.equal(a.choices.length, 1);
  assert.equal(typeof a.choices[0].message.reasoning_content, "string");
  const rt = a.usage.completion_tokens_details.reasoning_tokens;
  assert.ok(rt > 0 && rt <= a.reasoning.samples_used * (2 + CLOSE), `reasoning tokens ${rt}`);
  const bon = await post({
    reasoning: { strategy: "best_of_n", samples: 3, verifier: { type: "regex", pattern: "\\S" } },
    max_tokens: 6,
    seed: 1,
    ignore_eos: true,
  });
  assert.equal(bon.statusCode, 200, bon.body);
  const b = bon.json();
  assert.equal(b.reasoning.scores.length, 3);
  assert.ok(b.reasoning.scores.every((x: number) => x === 0 || x === 1));
});

test("reasoning strategy mcts: searches lines within its token budget", async () => {
  const r = await post({ reasoning: { strategy: "mcts", samples: 2, budget: 64 }, seed: 4, temperature: 1 });
  assert.equal(r.statusCode, 200, r.body);
  const j = r.json();
  assert.equal(j.reasoning.strategy, "mcts");
  assert.ok(j.usage.completion_tokens <= 64, `tokens ${j.usage.completion_tokens}`);
  assert.ok(j.reasoning.search.expansions >= 1);
  assert.equal(typeof j.choices[0].message.content, "string");
});
