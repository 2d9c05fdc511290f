// Issue 14 finding 6: valid schemas refused. Arrays nested >= 39 deep, objects >= 95 deep and a
// ~190+ character property name produced rule names longer than the 200 characters our GBNF
// parser looked ahead for `name ::=` ("unexpected character ':'"). Now: any length, up to the
// server's JSON Schema depth limit (openai/depth.ts), and the grammar accepts valid instances.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Automaton, jsonSchemaToGBNF, parseGBNF } from "../../src/sampling/grammar/index.js";
import { LLM } from "../../src/engine/llm.js";
import { buildServer } from "../../src/server/app.js";
import { SMALL, smallModel } from "../engine/helpers.js";

const enc = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));

function nestedArrays(d: number): { schema: object; instance: string } {
  let schema: object = { type: "integer" };
  for (let i = 0; i < d; i++) schema = { type: "array", items: schema };
  return { schema, instance: "[".repeat(d) + "1" + "]".repeat(d) };
}
function nestedObjects(d: number): { schema: object; instance: string } {
  let schema: object = { type: "integer" };
  for (let i = 0; i < d; i++)
    schema = { type: "object", properties: { a: schema }, required: ["a"], additionalProperties: false };
  return { schema, instance: '{"a":'.repeat(d) + "1" + "}".repeat(d) };
}
function longName(n: number): { schema: object; instance: string } {
  const name = "p".repeat(n);
  return {
    schema: {
      type: "object",
      properties: { [name]: { type: "string" } },
      required: [name],
      additionalProperties: false,
    },
    instance: JSON.stringify({ [name]: "v" }),
  };
}

// Within the server's limit of 128 arrays/objects per schema (an object level costs 2).
const CASES: [string, { schema: object; instance: string }][] = [
  ["arrays 39 deep", nestedArrays(39)],
  ["arrays 127 deep", nestedArrays(127)],
  ["objects 63 deep", nestedObjects(63)],
  ["property name 190 chars", longName(190)],
  ["property name 4000 chars", longName(4000)],
];

test("finding 6: deep and long-named schemas compile to a grammar that accepts valid output", () => {
  for (const [what, c] of CASES) {
    const a = new Automaton(parseGBNF(jsonSchemaToGBNF(c.schema)));
    assert.ok(a.matches(enc(c.instance)), what);
    assert.ok(!a.matches(enc(c.instance.slice(0, -1))), `${what}: a truncated instance is refused`);
  }
});

const m = await smallModel(SMALL);
const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 2 });
const srv = buildServer(llm, { modelId: "tiny" });
after(async () => {
  await srv.app.close();
  await llm.close();
  m.cleanup();
});

test("finding 6: the server accepts those schemas as response_format (200, not 400)", async () => {
  for (const [what, c] of CASES) {
    const r = await srv.app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: {
        model: "tiny",
        messages: [{ role: "user", content: "json please" }],
        max_tokens: 4,
        response_format: { type: "json_schema", json_schema: { name: "x", schema: c.schema } },
      },
    });
    assert.equal(r.statusCode, 200, `${what}: ${r.body.slice(0, 300)}`);
  }
});
