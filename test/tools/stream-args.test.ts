/**
 * Incremental tool-call streaming: for every format with JSON call objects and random chunkings,
 * the deltas reassembled the way an OpenAI client does (by index; name from the first delta;
 * arguments concatenated) equal the full-text parse (arguments compared as JSON values), and the
 * arguments arrive piece by piece, before the call's end marker has been generated.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseToolCalls } from "../../src/tools/parse.js";
import { createToolCallStreamParser } from "../../src/tools/stream.js";
import type { ToolFormatName } from "../../src/tools/formats.js";
import type { ToolCallDelta } from "../../src/tools/types.js";

const SAMPLES: { format: ToolFormatName; text: string }[] = [
  {
    format: "hermes",
    text: 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich \\"old\\" town", "days": [1, 2, {"x": "}"}]}}\n</tool_call>\n<tool_call>\n{"name": "time", "arguments": {}}\n</tool_call>',
  },
  { format: "hermes", text: '<tool_call>\n{"arguments": {"q": "a,b"}, "name": "search"}\n</tool_call>' },
  { format: "hermes", text: '<tool_call>\n{"name": "x", "arguments": "{\\"a\\": 1}"}\n</tool_call> after' },
  { format: "hermes", text: "<tool_call>\nnot json\n</tool_call> tail" },
  {
    format: "llama3",
    text: '<|python_tag|>{"name": "a", "parameters": {"n": -1.5e3, "ok": true}}; {"name": "b", "parameters": {}}',
  },
  { format: "llama3", text: '{"name": "search", "id": 7, "parameters": {"q": "llamas"}}' },
  {
    format: "mistral",
    text: '[TOOL_CALLS][{"name": "f", "arguments": {"a": [1, 2]}, "id": "abc123def"}, {"name": "g", "arguments": {"s": "]}"}}]',
  },
];

function collect(format: ToolFormatName, text: string, rnd: () => number, maxChunk: number) {
  const p = createToolCallStreamParser(format, { incremental: true });
  let content = "";
  const deltas: { d: ToolCallDelta; at: number }[] = [];
  const chars = [...text];
  let at = 0;
  for (let i = 0; i < chars.length;) {
    const n = 1 + Math.floor(rnd() * maxChunk);
    const ev = p.push(chars.slice(i, i + n).join(""));
    i += n;
    at = chars.slice(0, i).join("").length;
    content += ev.content;
    for (const d of ev.toolCalls) deltas.push({ d, at });
  }
  const ev = p.end();
  content += ev.content;
  for (const d of ev.toolCalls) deltas.push({ d, at: text.length });
  const calls: { id: string; name: string; args: string; pieces: number; firstAt: number }[] = [];
  for (const { d, at: pos } of deltas) {
    if (d.id)
      calls[d.index] = { id: d.id, name: d.function.name ?? "", args: "", pieces: 0, firstAt: Infinity };
    const c = calls[d.index];
    if (d.function.arguments) {
      c.args += d.function.arguments;
      c.pieces++;
      c.firstAt = Math.min(c.firstAt, pos);
    }
  }
  return { content: content.trim(), calls, truncated: p.truncatedCall };
}

test("incremental tool-call deltas reassemble to the full parse, for every chunking", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const s of SAMPLES) {
    const want = parseToolCalls(s.text, s.format);
    for (let trial = 0; trial < 25; trial++) {
      const got = collect(s.format, s.text, rnd, trial === 0 ? 1 : 8);
      assert.equal(got.calls.length, want.toolCalls.length, `${s.text} (trial ${trial})`);
      got.calls.forEach((c, i) => {
        assert.equal(c.name, want.toolCalls[i].function.name);
        assert.match(c.id, /^call_[A-Za-z0-9]{24}$/);
        assert.deepEqual(JSON.parse(c.args), JSON.parse(want.toolCalls[i].function.arguments), c.args);
      });
      assert.equal(got.content, want.content, s.text);
      assert.equal(got.truncated, false);
    }
  }
});

test("arguments stream piece by piece, before the call has closed", () => {
  const s = SAMPLES[0];
  const got = collect(s.format, s.text, () => 0, 1); // one character per push
  const first = got.calls[0];
  assert.ok(first.pieces > 10, `only ${first.pieces} argument pieces`);
  assert.ok(first.firstAt < s.text.indexOf("</tool_call>"));
  assert.equal(first.args, '{"city": "Zürich \\"old\\" town", "days": [1, 2, {"x": "}"}]}'); // the model's own text
});

test("output cut inside a call: partial arguments were streamed and the parser says so", () => {
  const text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Par';
  const got = collect("hermes", text, () => 0.5, 4);
  assert.equal(got.calls.length, 1);
  assert.equal(got.calls[0].args, '{"city": "Par');
  assert.equal(got.truncated, true);
  assert.equal(got.content, ""); // the cut section is not repeated as content
});
