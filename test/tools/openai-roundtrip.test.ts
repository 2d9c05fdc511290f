/**
 * Tool calls round-trip through the `openai` npm client (a parser we did not write): a test HTTP
 * server renders the request with the Qwen3 chat template (tools + role:"tool" results), checks
 * the scripted model output token by token against the tool-call grammar (tool_choice auto),
 * parses it with the Hermes parser, and answers non-streaming or as SSE chunks from the
 * streaming parser. The client's own accumulation (finalChatCompletion) must see the same calls.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import OpenAI from "openai";
import { buildToolPrompt } from "../../src/tools/prompt.js";
import { parseToolCalls } from "../../src/tools/parse.js";
import { createToolCallStreamParser } from "../../src/tools/stream.js";
import { completionMessage, streamDeltas } from "../../src/tools/openai.js";
import { grammarForTools } from "../../src/tools/tool-grammar.js";
import type { ToolDefinition } from "../../src/tools/types.js";
import { realTokenizer } from "../grammar/vocab.js";

const tok = realTokenizer("qwen3");
const TOOLS: ToolDefinition[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather",
      parameters: {
        type: "object",
        properties: { city: { type: "string" }, unit: { enum: ["c", "f"] } },
        required: ["city"],
      },
    },
  },
];
const CALL_TEXT =
  'Let me look that up.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}\n</tool_call>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich"}}\n</tool_call>';

async function startServer() {
  const prompts: string[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const { prompt, format } = buildToolPrompt(tok, body.messages, body.tools, {
      toolChoice: body.tool_choice,
    });
    prompts.push(prompt);
    const answered = body.messages.some((m: { role: string }) => m.role === "tool");
    const text = answered ? "It is 18°C in Paris and 12°C in Zürich." : CALL_TEXT;
    // The scripted output must be one the tool grammar allows, token by token.
    const ids = tok.encode(text);
    const m = grammarForTools(body.tools, body.tool_choice ?? "auto", format, tok)!;
    for (const id of ids) {
      assert.ok(m.isAllowed(id), `grammar rejects token ${JSON.stringify(tok.tokenText(id))}`);
      m.accept(id);
    }
    assert.ok(m.isComplete());
    const base = { id: "chatcmpl-test", created: 1700000000, model: "edgellm-test" };
    if (!body.stream) {
      const { message, finish_reason } = completionMessage(parseToolCalls(text, format));
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          ...base,
          object: "chat.completion",
          choices: [{ index: 0, message, finish_reason, logprobs: null }],
        }),
      );
      return;
    }
    res.setHeader("content-type", "text/event-stream");
    const send = (delta: Record<string, unknown>, finish: string | null = null) =>
      res.write(
        `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
      );
    send({ role: "assistant", content: "" });
    const p = createToolCallStreamParser(format);
    let calls = 0;
    for (const id of ids) {
      const ev = p.push(tok.decode([id]));
      calls += ev.toolCalls.filter((d) => d.id).length;
      for (const d of streamDeltas(ev)) send(d);
    }
    const ev = p.end();
    calls += ev.toolCalls.filter((d) => d.id).length;
    for (const d of streamDeltas(ev)) send(d);
    send({}, calls ? "tool_calls" : "stop");
    res.end("data: [DONE]\n\n");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    prompts,
    client: new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "test", maxRetries: 0 }),
  };
}

test("openai client: non-streaming tool calls, then tool results fed back", async () => {
  const { server, prompts, client } = await startServer();
  try {
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      { role: "user", content: "Weather in Paris and Zürich?" },
    ];
    const r = await client.chat.completions.create({
      model: "m",
      messages,
      tools: TOOLS,
      tool_choice: "auto",
    });
    const msg = r.choices[0].message;
    assert.equal(r.choices[0].finish_reason, "tool_calls");
    assert.equal(msg.content, "Let me look that up.");
    const calls = msg.tool_calls!.map((c) =>
      c.type === "function" ? [c.function.name, JSON.parse(c.function.arguments)] : [],
    );
    assert.deepEqual(calls, [
      ["get_weather", { city: "Paris", unit: "c" }],
      ["get_weather", { city: "Zürich" }],
    ]);
    assert.match(prompts[0], /<tools>[\s\S]*"get_weather"[\s\S]*<\/tools>/);
    messages.push(msg);
    for (const c of msg.tool_calls!)
      messages.push({ role: "tool", tool_call_id: c.id, content: '{"temp": 18}' });
    const r2 = await client.chat.completions.create({ model: "m", messages, tools: TOOLS });
    assert.equal(r2.choices[0].finish_reason, "stop");
    assert.match(r2.choices[0].message.content!, /18°C/);
    // The template rendered the assistant's calls and the tool results.
    assert.match(
      prompts[1],
      /<tool_call>\n\{"name": "get_weather", "arguments": \{"city": "Paris", "unit": "c"\}\}\n<\/tool_call>/,
    );
    assert.match(prompts[1], /<tool_response>\n\{"temp": 18\}\n<\/tool_response>/);
  } finally {
    server.close();
  }
});

test("openai client: streaming tool-call deltas accumulate to the same calls", async () => {
  const { server, client } = await startServer();
  try {
    const stream = client.chat.completions.stream({
      model: "m",
      messages: [{ role: "user", content: "Weather?" }],
      tools: TOOLS,
      stream: true,
    });
    let content = "";
    for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? "";
    const final = await stream.finalChatCompletion();
    const msg = final.choices[0].message;
    assert.equal(final.choices[0].finish_reason, "tool_calls");
    assert.equal(content.trim(), "Let me look that up.");
    const calls = msg.tool_calls!.map((c) =>
      c.type === "function" ? [c.function.name, JSON.parse(c.function.arguments)] : [],
    );
    assert.deepEqual(calls, [
      ["get_weather", { city: "Paris", unit: "c" }],
      ["get_weather", { city: "Zürich" }],
    ]);
    for (const c of msg.tool_calls!) assert.match(c.id, /^call_[A-Za-z0-9]{24}$/);
  } finally {
    server.close();
  }
});
