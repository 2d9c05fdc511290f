import { test } from "node:test";
import assert from "node:assert/strict";
import { detectToolFormat } from "../../src/tools/formats.js";
import { parseToolCalls } from "../../src/tools/parse.js";
import { createToolCallStreamParser } from "../../src/tools/stream.js";
import type { ToolFormatName } from "../../src/tools/formats.js";
import type { ParsedTurn, ToolCallDelta } from "../../src/tools/types.js";
import { LLAMA31_EXCERPT, MISTRAL_EXCERPT, realTemplate } from "./templates.js";

test("format is detected from template content, never a model name", () => {
  assert.equal(detectToolFormat(realTemplate("qwen3")).name, "hermes");
  assert.equal(detectToolFormat(realTemplate("qwen3")).nativeTools, true);
  assert.equal(detectToolFormat(realTemplate("deepseek_v3")).name, "deepseek");
  assert.equal(detectToolFormat(LLAMA31_EXCERPT).name, "llama3");
  assert.equal(detectToolFormat(MISTRAL_EXCERPT).name, "mistral");
  // Llama 3.0's template renders no tools: prompted Hermes fallback.
  const l3 = detectToolFormat(realTemplate("llama3"));
  assert.deepEqual([l3.name, l3.nativeTools], ["hermes", false]);
  assert.equal(detectToolFormat(undefined).nativeTools, false);
});

const SAMPLES: { format: ToolFormatName; text: string; content: string; calls: [string, unknown][] }[] = [
  {
    format: "hermes",
    text: 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}\n</tool_call>\n<tool_call>\n{"name": "time", "arguments": {}}\n</tool_call>',
    content: "Let me check.",
    calls: [
      ["get_weather", { city: "Paris", unit: "c" }],
      ["time", {}],
    ],
  },
  {
    format: "hermes",
    text: '<tool_call>\n{"name": "x", "arguments": "{\\"a\\": [1, \\"}\\"]}"}\n</tool_call>',
    content: "",
    calls: [["x", { a: [1, "}"] }]],
  },
  {
    format: "hermes",
    text: "<tool_call>\nnot json\n</tool_call> tail",
    content: "<tool_call>\nnot json\n</tool_call> tail",
    calls: [],
  },
  {
    format: "llama3",
    text: '{"name": "search", "parameters": {"q": "llamas"}}',
    content: "",
    calls: [["search", { q: "llamas" }]],
  },
  {
    format: "llama3",
    text: '<|python_tag|>{"name": "a", "parameters": {"n": 1}}; {"name": "b", "parameters": {}}',
    content: "",
    calls: [
      ["a", { n: 1 }],
      ["b", {}],
    ],
  },
  { format: "llama3", text: "The answer is {not a call}", content: "The answer is {not a call}", calls: [] },
  {
    format: "mistral",
    text: '[TOOL_CALLS] [{"name": "add", "arguments": {"a": 1, "b": 2}, "id": "abc123xyz"}, {"name": "neg", "arguments": {"x": 3}}]',
    content: "",
    calls: [
      ["add", { a: 1, b: 2 }],
      ["neg", { x: 3 }],
    ],
  },
  {
    format: "mistral",
    text: 'Sure.[TOOL_CALLS]lookup[ARGS]{"id": 7}',
    content: "Sure.",
    calls: [["lookup", { id: 7 }]],
  },
  {
    format: "deepseek",
    text:
      'I\'ll call it.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Oslo"}\n```<｜tool▁call▁end｜>' +
      "<｜tool▁call▁begin｜>function<｜tool▁sep｜>time\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
    content: "I'll call it.",
    calls: [
      ["get_weather", { city: "Oslo" }],
      ["time", {}],
    ],
  },
  {
    format: "deepseek",
    text: '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Rome"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
    content: "",
    calls: [["get_weather", { city: "Rome" }]],
  },
];

function check(p: ParsedTurn, s: (typeof SAMPLES)[number]): void {
  assert.equal(p.content, s.content, s.text);
  assert.deepEqual(
    p.toolCalls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]),
    s.calls,
    s.text,
  );
  for (const c of p.toolCalls) assert.match(c.id, /^call_[A-Za-z0-9]{24}$|^abc123xyz$/);
}

test("full-text parsers: content and calls for each format", () => {
  for (const s of SAMPLES) check(parseToolCalls(s.text, s.format), s);
});

test("streaming parser gives the same turn for every chunking, as OpenAI-style deltas", () => {
  let seed = 99;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const s of SAMPLES) {
    for (let trial = 0; trial < 20; trial++) {
      const p = createToolCallStreamParser(s.format);
      let content = "";
      const deltas: ToolCallDelta[] = [];
      const chars = [...s.text];
      for (let i = 0; i < chars.length;) {
        const n = trial === 0 ? 1 : 1 + Math.floor(rnd() * 12);
        const ev = p.push(chars.slice(i, i + n).join(""));
        content += ev.content;
        deltas.push(...ev.toolCalls);
        i += n;
      }
      const ev = p.end();
      content += ev.content;
      deltas.push(...ev.toolCalls);
      // Reassemble as an OpenAI client does: by index, name from the first delta, arguments concatenated.
      const calls: { id: string; name: string; args: string }[] = [];
      for (const d of deltas) {
        if (d.id) calls[d.index] = { id: d.id, name: d.function.name ?? "", args: "" };
        calls[d.index].args += d.function.arguments ?? "";
      }
      check(
        {
          content: content.trim(),
          toolCalls: calls.map((c) => ({
            id: c.id,
            type: "function",
            function: { name: c.name, arguments: c.args },
          })),
        },
        s,
      );
      // Marker text never leaks into streamed content when calls parsed.
      if (s.calls.length)
        assert.ok(
          !content.includes("tool_call") && !content.includes("TOOL_CALLS") && !content.includes("▁"),
          content,
        );
    }
  }
});
