import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import {
  Automaton,
  jsonSchemaToGBNF,
  parseGBNF,
  gbnfForResponseFormat as gbnfForResponseFormatForTest,
} from "../../src/sampling/grammar/index.js";
import { validator } from "./ajv.js";

const enc = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
function accepts(schema: unknown) {
  const a = new Automaton(parseGBNF(jsonSchemaToGBNF(schema)));
  return (text: string) => a.matches(enc(text));
}

/** Each case: schema, texts the grammar must accept (all valid per ajv), texts it must reject. */
const CASES: { schema: unknown; ok: string[]; bad: string[] }[] = [
  {
    schema: {
      type: "object",
      properties: { a: { type: "string" }, b: { type: "integer" } },
      required: ["b"],
    },
    ok: ['{"b":1}', '{"a":"x","b":-3}', '{ "a": "\\u00e9\\n", "b": 0 }'],
    bad: ['{"a":"x"}', '{"b":1.5}', '{"b":1,"c":2}', '{"b":01}', '{"b":1,"a":"x"}'],
  },
  {
    schema: { type: "object", properties: { x: { type: "boolean" }, y: { type: "null" } } },
    ok: ["{}", '{"x":true}', '{"y":null}', '{"x":false,"y":null}'],
    bad: ['{"x":1}', '{,"y":null}', '{"x":true,}'],
  },
  {
    schema: { type: "array", items: { enum: ["a", 1, null, { k: [true] }] }, minItems: 1, maxItems: 3 },
    ok: ['["a"]', '[1, null, {"k":[true]}]'],
    bad: ["[]", '["a","a","a","a"]', '["b"]'],
  },
  {
    schema: { type: "string", minLength: 2, maxLength: 3 },
    ok: ['"ab"', '"abc"', '"\\"é"'],
    bad: ['"a"', '"abcd"'],
  },
  {
    schema: { type: "integer", minimum: -15, maximum: 120 },
    ok: ["-15", "-1", "0", "9", "10", "99", "100", "120"],
    bad: ["-16", "121", "200", "-0", "007", "1.0"],
  },
  {
    schema: { type: "integer", exclusiveMinimum: 7, exclusiveMaximum: 1000 },
    ok: ["8", "999", "100"],
    bad: ["7", "1000", "-5"],
  },
  {
    schema: { type: "number" },
    ok: ["0", "-1.5", "3e10", "2.25E-3"],
    bad: ["01", "1.", ".5", "+1", "NaN"],
  },
  {
    schema: { type: ["string", "null"], format: "date" },
    ok: ['"2024-01-31"', '"1999-04-30"', '"2023-02-28"', "null"],
    bad: ['"2024-04-31"', '"2024-13-01"', '"2024-02-30"'],
  },
  {
    schema: { type: "string", format: "date-time" },
    ok: ['"2024-05-06T07:08:09Z"', '"2024-05-06T23:59:59.123+05:30"'],
    bad: ['"2024-05-06 07:08:09Z"', '"2024-05-06T24:00:00Z"'],
  },
  {
    schema: { type: "string", format: "uuid" },
    ok: ['"123e4567-e89b-12d3-a456-426614174000"'],
    bad: ['"123e4567e89b12d3a456426614174000"'],
  },
  {
    schema: {
      $defs: {
        node: {
          type: "object",
          properties: { v: { type: "integer" }, kids: { type: "array", items: { $ref: "#/$defs/node" } } },
          required: ["v"],
        },
      },
      $ref: "#/$defs/node",
    },
    ok: ['{"v":1}', '{"v":1,"kids":[{"v":2,"kids":[{"v":3}]}]}'],
    bad: ['{"kids":[]}', '{"v":1,"kids":[{}]}'],
  },
  {
    schema: {
      anyOf: [{ type: "integer" }, { type: "object", properties: { q: { const: "z" } }, required: ["q"] }],
    },
    ok: ["5", '{"q":"z"}'],
    bad: ['{"q":"y"}', '"5"'],
  },
  {
    schema: {
      type: "object",
      properties: { id: { type: "integer" } },
      required: ["id"],
      additionalProperties: { type: "boolean" },
    },
    ok: ['{"id":1}', '{"id":1,"extra":true,"more":false}'],
    bad: ['{"id":1,"extra":1}'],
  },
  {
    schema: {
      type: "array",
      prefixItems: [{ type: "string" }, { type: "integer" }],
      items: { type: "boolean" },
    },
    ok: ['["a",1]', '["a",1,true,false]'],
    bad: ['["a"]', '[1,"a"]', '["a",1,2]'],
  },
  {
    schema: { type: "number", minimum: 0.5, maximum: 3 },
    ok: ["1", "3"],
    bad: ["0", "4", "-1"],
  },
];

test("schema grammars accept valid documents and reject invalid ones (ajv agrees)", () => {
  for (const { schema, ok, bad } of CASES) {
    const m = accepts(schema);
    const v = validator(schema);
    for (const t of ok) {
      assert.ok(v(JSON.parse(t)), `ajv rejects our 'ok' example ${t} for ${JSON.stringify(schema)}`);
      assert.ok(m(t), `grammar rejects ${t} for ${JSON.stringify(schema)}`);
    }
    for (const t of bad) assert.ok(!m(t), `grammar accepts ${t} for ${JSON.stringify(schema)}`);
  }
});

test("unsupported keywords are InputErrors naming the keyword's path", () => {
  const bad: [unknown, RegExp][] = [
    [{ type: "string", pattern: "^a+$" }, /#\/pattern: unsupported keyword 'pattern'/],
    [
      { type: "object", properties: { a: { type: "string", format: "email" } } },
      /#\/properties\/a\/format.*unsupported string format 'email'/,
    ],
    [{ type: "array", uniqueItems: true }, /uniqueItems/],
    [{ type: "object", patternProperties: {} }, /patternProperties/],
    [{ type: "number", multipleOf: 3 }, /multipleOf/],
    [{ allOf: [{ type: "string" }, { minLength: 2 }] }, /allOf with more than one/],
    [{ $ref: "https://example.com/s.json" }, /only local \$ref/],
    [{ $ref: "#/$defs/missing" }, /does not resolve/],
    [false, /matches nothing/],
    [{ type: "integer", minimum: 5, maximum: 4 }, /no integer satisfies/],
    [{ type: "string", minLength: 3, items: {} }, /'items' does not apply to type 'string'/],
    [{ type: "object", required: ["x"] }, /required property 'x' is not in properties/],
  ];
  for (const [s, re] of bad) {
    assert.throws(
      () => jsonSchemaToGBNF(s),
      (e: unknown) => e instanceof InputError && re.test(e.message),
      JSON.stringify(s),
    );
  }
});

test("response_format json_object / json_schema / text", () => {
  const obj = gbnfForResponseFormatForTest({ type: "json_object" })!;
  const a = new Automaton(parseGBNF(obj));
  assert.ok(a.matches(enc('{"a":[1,{"b":null}],"c":"d"}')) && !a.matches(enc("[1]")));
  assert.equal(gbnfForResponseFormatForTest({ type: "text" }), undefined);
  assert.throws(() => gbnfForResponseFormatForTest({ type: "yaml" } as never), InputError);
  const s = gbnfForResponseFormatForTest({
    type: "json_schema",
    json_schema: { name: "x", schema: { type: "integer" } },
  })!;
  assert.ok(new Automaton(parseGBNF(s)).matches(enc("42")));
});
