// Issue 14 finding 5: deep nesting used to give 500s (stack overflow in stringify / schema
// compilation, decodeURIComponent throwing on a bad $ref) or a 400 whose message was "Maximum call
// stack size exceeded". Now the body parser refuses more than 160 levels before JSON.parse, each
// field has its own limit (32; 128 for JSON Schemas) checked without recursion, a malformed $ref is
// a 400, and every answer is an OpenAI-style 400 naming the parameter.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { LLM } from "../../src/engine/llm.js";
import { buildServer } from "../../src/server/app.js";
import { SMALL, smallModel } from "../engine/helpers.js";
import { InputError } from "../../src/errors.js";
import { validateJSON } from "../../src/reasoning/verifiers/json-schema.js";

const m = await smallModel({ ...SMALL, nCtx: 1024 }); // room for a tool prompt
const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 2 });
const srv = buildServer(llm, { modelId: "tiny" });
after(async () => {
  await srv.app.close();
  await llm.close();
  m.cleanup();
});

const arrays = (n: number, leaf = "1") => "[".repeat(n) + leaf + "]".repeat(n);
const schemaArrays = (n: number) =>
  '{"type":"array","items":'.repeat(n) + '{"type":"integer"}' + "}".repeat(n);
const schemaObjects = (n: number) =>
  '{"type":"object","properties":{"a":'.repeat(n) + '{"type":"integer"}' + "}}".repeat(n);
const BASE = '"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":2';
const chat = (extra: string, url = "/v1/chat/completions") =>
  srv.app.inject({
    method: "POST",
    url,
    headers: { "content-type": "application/json" },
    payload: `{${BASE},${extra}}`,
  });

async function expect400(res: Awaited<ReturnType<typeof chat>>, param: string | null, what: string) {
  assert.equal(res.statusCode, 400, `${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
  const e = res.json().error;
  assert.equal(e.type, "invalid_request_error", what);
  assert.equal(e.param, param, `${what}: ${e.message}`);
  assert.ok(!/call stack/i.test(e.message), `${what}: ${e.message}`);
}

test("finding 5: 5k-100k nested arrays in scalar fields are 400 naming the field", async () => {
  for (const n of [40, 5_000, 100_000]) {
    await expect400(await chat(`"temperature":${arrays(n)}`), "temperature", `temperature ${n}`);
    await expect400(await chat(`"stream":${arrays(n)}`), "stream", `stream ${n}`);
    await expect400(
      await chat(`"enable_thinking":${arrays(n, "true")}`),
      "enable_thinking",
      `enable_thinking ${n}`,
    );
  }
  const c = await srv.app.inject({
    method: "POST",
    url: "/v1/completions",
    headers: { "content-type": "application/json" },
    payload: `{"model":"tiny","prompt":${arrays(5_000, '"x"')}}`,
  });
  await expect400(c, "prompt", "prompt 5000");
  const whole = await srv.app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    headers: { "content-type": "application/json" },
    payload: arrays(100_000),
  });
  await expect400(whole, null, "a nested array as the whole body");
});

test("finding 5: nesting inside reasoning.strategy is a clean 400", async () => {
  for (const n of [40, 5_000])
    await expect400(
      await chat(`"reasoning":{"strategy":${arrays(n, '"sc"')}}`),
      "reasoning",
      `reasoning ${n}`,
    );
});

test("finding 5: >= 2k nested schemas in response_format or tools are 400", async () => {
  for (const n of [2_000, 10_000]) {
    await expect400(
      await chat(
        `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${schemaArrays(n)}}}`,
      ),
      "response_format",
      `response_format ${n}`,
    );
    await expect400(
      await chat(`"tools":[{"type":"function","function":{"name":"f","parameters":${schemaObjects(n)}}}]`),
      "tools",
      `tools ${n}`,
    );
  }
  // Over the 128-level JSON Schema limit but under the body limit: named down to the schema.
  await expect400(
    await chat(
      `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${schemaObjects(70)}}}`,
    ),
    "response_format.json_schema.schema",
    "response_format objects 70",
  );
  await expect400(
    await chat(`"tools":[{"type":"function","function":{"name":"f","parameters":${schemaArrays(140)}}}]`),
    "tools[0].function.parameters",
    "tools arrays 140",
  );
});

test("finding 5: a malformed or escaping $ref is 400", async () => {
  for (const ref of ["#/%E0%A4%A", "#/__proto__", "#/constructor/prototype"]) {
    const schema = JSON.stringify({ type: "object", properties: { a: { $ref: ref } } });
    await expect400(
      await chat(`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${schema}}}`),
      "response_format",
      `response_format $ref ${ref}`,
    );
    await expect400(
      await chat(`"tools":[{"type":"function","function":{"name":"f","parameters":${schema}}}]`),
      "tools",
      `tools $ref ${ref}`,
    );
  }
});

test("finding 5: a $ref cycle in a json_schema verifier is an input error, not a stack overflow", async () => {
  for (const schema of [{ $ref: "#" }, { anyOf: [{ $ref: "#" }, { $ref: "#" }] }]) {
    assert.throws(() => validateJSON(1, schema), InputError, JSON.stringify(schema));
  }
  const r = await chat(
    `"reasoning":{"strategy":"best_of_n","samples":2,"verifier":{"type":"json_schema","schema":{"anyOf":[{"$ref":"#"},{"$ref":"#"}]}}}`,
  );
  assert.ok(r.statusCode < 500, `${r.statusCode} ${r.body.slice(0, 300)}`);
});
