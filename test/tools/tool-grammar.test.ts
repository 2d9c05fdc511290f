import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import {
  Automaton,
  GrammarMatcher,
  LazyGrammarMatcher,
  parseGBNF,
} from "../../src/sampling/grammar/index.js";
import { parseToolCalls } from "../../src/tools/parse.js";
import { gbnfForTools, grammarForTools } from "../../src/tools/tool-grammar.js";
import type { ToolDefinition } from "../../src/tools/types.js";
import { validator } from "../grammar/ajv.js";
import { mulberry32 } from "../grammar/random-schema.js";
import { realTokenizer } from "../grammar/vocab.js";

const TOOLS: ToolDefinition[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Weather for a city",
      parameters: {
        type: "object",
        properties: {
          city: { type: "string", maxLength: 12 },
          unit: { enum: ["c", "f"] },
          days: { type: "integer", minimum: 1, maximum: 7 },
        },
        required: ["city", "unit"],
        additionalProperties: false,
      },
    },
  },
  { type: "function", function: { name: "now", parameters: { type: "object", properties: {} } } },
];
const schemaOf = (name: string) => TOOLS.find((t) => t.function.name === name)!.function.parameters;

const tok = realTokenizer("qwen3");

function randomDecode(
  m: GrammarMatcher | LazyGrammarMatcher,
  rnd: () => number,
  max: number,
  prefix: number[] = [],
): string {
  const ids = [...prefix];
  for (const id of prefix) m.accept(id);
  for (let step = 0; step < max; step++) {
    const logits = new Float32Array(tok.nVocab);
    for (let i = 0; i < logits.length; i++) logits[i] = 4 * rnd();
    m.maskLogits(logits);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    m.accept(best);
    if (tok.isEog(best)) return tok.decode(ids);
    ids.push(best);
  }
  throw new Error(`no end after ${max} tokens: ${tok.decode(ids)}`);
}

test("tool_choice required: random decoding yields calls whose arguments validate (hermes, Qwen3 vocab)", () => {
  const rnd = mulberry32(5);
  for (let k = 0; k < 6; k++) {
    const m = grammarForTools(TOOLS, "required", "hermes", tok, k % 2 === 0)!;
    assert.ok(m instanceof GrammarMatcher);
    const text = randomDecode(m, rnd, 400);
    const turn = parseToolCalls(text, "hermes");
    assert.ok(turn.toolCalls.length >= 1 && turn.content === "", text);
    if (k % 2 === 1) assert.equal(turn.toolCalls.length, 1);
    for (const c of turn.toolCalls) {
      const v = validator(schemaOf(c.function.name));
      assert.ok(v(JSON.parse(c.function.arguments)), `${text}\n${JSON.stringify(v.errors)}`);
    }
  }
});

test("named tool_choice only allows that function", () => {
  const rnd = mulberry32(6);
  const m = grammarForTools(TOOLS, { type: "function", function: { name: "now" } }, "hermes", tok, false)!;
  const turn = parseToolCalls(randomDecode(m, rnd, 200), "hermes");
  assert.deepEqual(
    turn.toolCalls.map((c) => c.function.name),
    ["now"],
  );
  assert.throws(
    () => gbnfForTools(TOOLS, { type: "function", function: { name: "nope" } }),
    /unknown function 'nope'/,
  );
  assert.equal(gbnfForTools(TOOLS, "none"), undefined);
});

test("tool_choice auto: free text until <tool_call>, then the call is constrained", () => {
  const rnd = mulberry32(8);
  const m = grammarForTools(TOOLS, "auto", "hermes", tok)!;
  assert.ok(m instanceof LazyGrammarMatcher);
  const prefix = tok.encode("Checking the weather first. ");
  for (const id of prefix) assert.ok(m.isAllowed(id));
  assert.ok(!m.active);
  const trigger = tok.encode("<tool_call>");
  assert.equal(trigger.length, 1, "Qwen3 spells <tool_call> as one token");
  const text = randomDecode(m, rnd, 400, [...prefix, ...trigger]);
  assert.ok(m.active);
  const turn = parseToolCalls(text, "hermes");
  assert.equal(turn.content, "Checking the weather first.");
  assert.ok(turn.toolCalls.length >= 1, text);
  for (const c of turn.toolCalls)
    assert.ok(validator(schemaOf(c.function.name))(JSON.parse(c.function.arguments)), text);
});

test("grammars for llama3, mistral and deepseek accept their call syntax and parse back", () => {
  const cases: [Parameters<typeof gbnfForTools>[2], string][] = [
    ["llama3", '{"name": "get_weather", "parameters": {"city": "Oslo", "unit": "c"}}'],
    ["llama3", '<|python_tag|>{"name": "now", "parameters": {}}; {"name": "now", "parameters": {}}'],
    [
      "mistral",
      '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "f", "days": 3}}]',
    ],
    [
      "deepseek",
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>now\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
    ],
  ];
  for (const [fmt, text] of cases) {
    const a = new Automaton(parseGBNF(gbnfForTools(TOOLS, "required", fmt)!.gbnf));
    assert.ok(a.matches(new Uint8Array(Buffer.from(text))), `${fmt}: ${text}`);
    assert.ok(parseToolCalls(text, fmt!).toolCalls.length >= 1);
    // Arguments that violate the schema are rejected.
    const bad = text.replace('"unit": "c"', '"unit": "k"').replace("{}", '{"x": 1}');
    if (bad !== text) assert.ok(!a.matches(new Uint8Array(Buffer.from(bad))), `${fmt} accepts ${bad}`);
  }
});

test("bad tool definitions are InputErrors", () => {
  assert.throws(
    () => gbnfForTools([{ type: "function", function: { name: "bad name!" } }], "required"),
    InputError,
  );
  assert.throws(() => gbnfForTools([TOOLS[0], TOOLS[0]], "required"), /duplicate tool name/);
  assert.throws(
    () =>
      gbnfForTools(
        [
          {
            type: "function",
            function: {
              name: "p",
              parameters: { type: "object", properties: { a: { type: "string", pattern: "x" } } },
            },
          },
        ],
        "required",
      ),
    /pattern/,
  );
  assert.throws(() => gbnfForTools(TOOLS, "sometimes" as never), /bad tool_choice/);
});
