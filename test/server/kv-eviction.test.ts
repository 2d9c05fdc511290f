// The server's `kv_eviction: {policy, budget}` extension (kv/eviction.ts by name): a completion
// longer than the budget is generated with the policy's evictions, and usage.kv_evicted_tokens
// says how many tokens were dropped; a bad policy or budget is a 400 naming the parameter; a
// server default (serve --kv-evict / loadLLM's eviction) applies to requests that give none.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { LLM } from "../../src/engine/llm.js";
import { buildServer } from "../../src/server/app.js";
import { SnapKV } from "../../src/kv/eviction.js";
import { SMALL, smallModel } from "../engine/helpers.js";

const m = await smallModel(SMALL);
const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 2, contextSize: 128 });
const srv = buildServer(llm, { modelId: "tiny" });
const byDefault = new LLM(m.model, m.tokenizer, undefined, {
  parallel: 1,
  contextSize: 128,
  eviction: new SnapKV(40),
});
const srvDefault = buildServer(byDefault, { modelId: "tiny" });
after(async () => {
  await srv.app.close();
  await srvDefault.app.close();
  await llm.close();
  await byDefault.close();
  m.cleanup();
});

const post = (s: typeof srv, body: object) =>
  s.app.inject({
    method: "POST",
    url: "/v1/completions",
    payload: {
      model: "tiny",
      prompt: [5, 6, 7, 8, 9],
      max_tokens: 100,
      temperature: 0,
      ignore_eos: true,
      ...body,
    },
  });

test("kv_eviction: each policy generates past its budget and reports the evicted tokens", async () => {
  const plain = await post(srv, {});
  assert.equal(plain.statusCode, 200, plain.body);
  assert.equal(plain.json().usage.kv_evicted_tokens, undefined);
  for (const policy of ["streaming", "h2o", "snapkv"]) {
    const res = await post(srv, { kv_eviction: { policy, budget: 48 } });
    assert.equal(res.statusCode, 200, res.body);
    const u = res.json().usage;
    assert.equal(u.completion_tokens, 100);
    // 105 positions through a 48-position budget: at least 105 - 48 tokens dropped.
    assert.ok(u.kv_evicted_tokens >= 57, `${policy}: ${JSON.stringify(u)}`);
  }
});

test("kv_eviction: bad values are 400s naming the parameter", async () => {
  const nine = [5, 6, 7, 8, 9, 10, 11, 12, 13];
  for (const [kv, param, extra] of [
    [{ policy: "lru", budget: 48 }, "kv_eviction.policy", {}],
    [{ policy: "snapkv", budget: 4 }, "kv_eviction.budget", {}],
    [{ policy: "snapkv", budget: 48.5 }, "kv_eviction.budget", {}],
    [{ policy: "snapkv" }, "kv_eviction.budget", {}],
    [{ policy: "h2o", budget: 48, heavy: 3 }, "kv_eviction.heavy", {}],
    ["snapkv", "kv_eviction", {}],
    [{ policy: "snapkv", budget: 129 }, "kv_eviction.budget", {}], // over the context (128)
    [{ policy: "snapkv", budget: 8 }, "kv_eviction.budget", { prompt: nine }], // the prompt does not fit
  ] as const) {
    const res = await post(srv, { kv_eviction: kv, ...extra });
    assert.equal(res.statusCode, 400, `${JSON.stringify(kv)}: ${res.body}`);
    assert.equal(res.json().error.param, param, res.body);
  }
});

test("a server default policy applies to requests without kv_eviction", async () => {
  const res = await post(srvDefault, {});
  assert.equal(res.statusCode, 200, res.body);
  assert.ok(res.json().usage.kv_evicted_tokens >= 60, res.body);
});
