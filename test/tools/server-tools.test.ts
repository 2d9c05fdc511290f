/**
 * Tools and constrained output through a real `edgellm serve` child, driven by the official
 * `openai` npm client (a parser we did not write): a random-weight llama GGUF from our factory
 * with the real Qwen3 vocabulary and chat template (Hermes `<tool_call>` format, detected from the
 * template). Random weights make the model's own choices arbitrary, so every check is about
 * what the constraint guarantees: with tool_choice required/named the output always parses into
 * calls whose arguments validate against the tool's schema (ajv), streamed or not; json_schema
 * responses validate; an unsupported schema keyword is a 400 naming it. The process runs with
 * `--mcp` (an SDK-written MCP server over stdio): requests without tools are offered its tools
 * and the server runs the calls; requests with their own tools (all the others) are unaffected.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import type { LLM } from "../../src/engine/llm.js";
import { ToolTurn, parseToolFields, withToolMessages } from "../../src/server/tools.js";
import { validateChat } from "../../src/server/openai/validate.js";
import { validator } from "../grammar/ajv.js";
import { realTokenizer, writeRealVocabModel } from "../grammar/vocab.js";
import { startServe, type Served } from "../server/serve-process.js";

const WEATHER = {
  type: "object",
  properties: { city: { type: "string", maxLength: 6 }, unit: { enum: ["c", "f"] } },
  required: ["city", "unit"],
  additionalProperties: false,
};
const ADD = {
  type: "object",
  properties: {
    a: { type: "integer", minimum: 0, maximum: 99 },
    b: { type: "integer", minimum: 0, maximum: 99 },
  },
  required: ["a", "b"],
  additionalProperties: false,
};
const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: "function",
    function: { name: "get_weather", description: "Current weather", parameters: WEATHER },
  },
  { type: "function", function: { name: "add", description: "Add two integers", parameters: ADD } },
];
const SCHEMAS: Record<string, ReturnType<typeof validator>> = {
  get_weather: validator(WEATHER),
  add: validator(ADD),
};

let dir: string;
let served: Served;
let client: OpenAI;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "edgellm-server-tools-"));
  const path = join(dir, "m.gguf");
  await writeRealVocabModel(path, { nCtx: 1024 });
  const cfg = join(dir, "mcp.json");
  const mcpServer = fileURLToPath(new URL("./fixtures/mcp-server.js", import.meta.url));
  writeFileSync(
    cfg,
    JSON.stringify({ mcpServers: { local: { command: process.execPath, args: [mcpServer] } } }),
  );
  served = await startServe(path, ["--threads", "1", "--model-id", "m", "--ctx-size", "1024", "--mcp", cfg]);
  client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: "x", maxRetries: 0 });
});

after(async () => {
  await served?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function checkCalls(
  calls: OpenAI.Chat.Completions.ChatCompletionMessageToolCall[] | undefined,
  only?: string,
): void {
  assert.ok(calls && calls.length > 0, "no tool calls");
  for (const c of calls) {
    assert.equal(c.type, "function");
    if (c.type !== "function") continue;
    assert.match(c.id, /^call_[A-Za-z0-9]{24}$/);
    if (only) assert.equal(c.function.name, only);
    const v = SCHEMAS[c.function.name];
    assert.ok(v, `unknown tool ${c.function.name}`);
    const args = JSON.parse(c.function.arguments);
    assert.ok(v(args), `${c.function.name}(${c.function.arguments}): ${JSON.stringify(v.errors)}`);
  }
}

const USER: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
  { role: "user", content: "What is the weather in Oslo, and 2+3?" },
];

test("serve + openai client: tool_choice required (non-streaming, several seeds) always yields valid calls", async () => {
  for (const seed of [1, 2]) {
    // parallel_tool_calls false: exactly one call, and generation stops when it closes.
    const r = await client.chat.completions.create({
      model: "m",
      messages: USER,
      tools: TOOLS,
      tool_choice: "required",
      temperature: 1,
      seed,
      max_tokens: 120,
      parallel_tool_calls: false,
    });
    assert.equal(r.choices[0].finish_reason, "tool_calls");
    checkCalls(r.choices[0].message.tool_calls);
    assert.equal(r.choices[0].message.tool_calls!.length, 1);
    assert.ok(r.usage!.completion_tokens < 120);
  }
  // parallel: one or more calls; a call cut by max_tokens is not returned as a call.
  const r = await client.chat.completions.create({
    model: "m",
    messages: USER,
    tools: TOOLS,
    tool_choice: "required",
    temperature: 1,
    seed: 3,
    max_tokens: 80,
  });
  checkCalls(r.choices[0].message.tool_calls);
});

test("serve + openai client: named tool_choice, streaming deltas accumulate to valid calls of that tool", async () => {
  for (const seed of [4]) {
    const stream = client.chat.completions.stream({
      model: "m",
      messages: USER,
      tools: TOOLS,
      tool_choice: { type: "function", function: { name: "add" } },
      temperature: 1,
      seed,
      max_tokens: 120,
      stream: true,
      parallel_tool_calls: false,
    });
    const deltas: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    for await (const chunk of stream) deltas.push(...(chunk.choices[0]?.delta?.tool_calls ?? []));
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0].finish_reason, "tool_calls");
    checkCalls(final.choices[0].message.tool_calls, "add");
    // OpenAI's delta shape: a call's first delta carries index, id, type and name.
    const first = deltas.find((d) => d.index === 0)!;
    assert.equal(first.type, "function");
    assert.equal(first.function?.name, "add");
    assert.match(first.id!, /^call_/);
    // Arguments stream token by token, not as one piece at the call's end.
    const pieces = deltas.filter((d) => d.index === 0 && d.function?.arguments);
    assert.ok(pieces.length > 2, `arguments came in ${pieces.length} pieces`);
  }
});

test("serve + openai client: response_format json_schema validates; json_object parses; unsupported keyword is a 400", async () => {
  const schema = {
    type: "object",
    properties: { n: { type: "integer", minimum: -5, maximum: 999 }, ok: { type: "boolean" } },
    required: ["n", "ok"],
    additionalProperties: false,
  };
  const v = validator(schema);
  for (const stream of [false, true]) {
    let text = "";
    if (stream) {
      const s = await client.chat.completions.create({
        model: "m",
        messages: USER,
        response_format: { type: "json_schema", json_schema: { name: "x", schema } },
        temperature: 1,
        seed: 9,
        max_tokens: 200,
        stream: true,
      });
      for await (const c of s) text += c.choices[0]?.delta?.content ?? "";
    } else {
      const r = await client.chat.completions.create({
        model: "m",
        messages: USER,
        response_format: { type: "json_schema", json_schema: { name: "x", schema } },
        temperature: 1,
        seed: 9,
        max_tokens: 200,
      });
      assert.equal(r.choices[0].finish_reason, "stop");
      text = r.choices[0].message.content!;
    }
    assert.ok(v(JSON.parse(text)), text);
  }
  const o = await client.chat.completions.create({
    model: "m",
    messages: USER,
    response_format: { type: "json_object" },
    temperature: 0,
    max_tokens: 40,
  });
  if (o.choices[0].finish_reason === "stop")
    assert.equal(typeof JSON.parse(o.choices[0].message.content!), "object");
  else assert.match(o.choices[0].message.content!, /^\{/);
  await assert.rejects(
    client.chat.completions.create({
      model: "m",
      messages: USER,
      response_format: {
        type: "json_schema",
        json_schema: { name: "x", schema: { type: "object", patternProperties: { "^a": {} } } },
      },
    }),
    (e: unknown) => e instanceof OpenAI.APIError && e.status === 400 && /patternProperties/.test(e.message),
  );
  await assert.rejects(
    client.chat.completions.create({
      model: "m",
      messages: USER,
      tools: TOOLS,
      tool_choice: { type: "function", function: { name: "nope" } },
    }),
    (e: unknown) => e instanceof OpenAI.APIError && e.status === 400 && /nope/.test(e.message),
  );
  // shapes: a 400 naming the parameter
  for (const [extra, param] of [
    [{ tools: TOOLS, tool_choice: "sometimes" }, "tool_choice"],
    [{ tools: TOOLS, tool_choice: { type: "function", function: {} } }, "tool_choice"],
    [{ response_format: "json" }, "response_format"],
    [{ response_format: { type: "yaml" } }, "response_format.type"],
  ] as const) {
    const r = await fetch(`${served.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: USER, ...extra }),
    });
    assert.equal(r.status, 400, JSON.stringify(extra));
    assert.equal(
      ((await r.json()) as { error: { param: string } }).error.param,
      param,
      JSON.stringify(extra),
    );
  }
});

test("serve + openai client: tool results fed back (role tool), auto choice answers or calls validly", async () => {
  const r = await client.chat.completions.create({
    model: "m",
    messages: USER,
    tools: TOOLS,
    tool_choice: "required",
    seed: 11,
    temperature: 1,
    max_tokens: 120,
    parallel_tool_calls: false,
  });
  const msg = r.choices[0].message;
  const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [...USER, msg];
  for (const c of msg.tool_calls!)
    messages.push({ role: "tool", tool_call_id: c.id, content: '{"result": 5}' });
  for (const seed of [12]) {
    const r2 = await client.chat.completions.create({
      model: "m",
      messages,
      tools: TOOLS,
      seed,
      temperature: 1,
      max_tokens: 40,
    });
    const f = r2.choices[0].finish_reason;
    if (f === "tool_calls") checkCalls(r2.choices[0].message.tool_calls);
    else assert.equal(typeof r2.choices[0].message.content, "string");
  }
});

test("tool turn: assistant tool_calls and tool results are rendered through the Qwen3 template", () => {
  const tok = realTokenizer("qwen3");
  const body = {
    model: "m",
    tools: TOOLS,
    messages: [
      ...USER,
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "add", arguments: '{"a": 2, "b": 3}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "5" },
    ],
  };
  const r = validateChat(body, ["m"]);
  const t = new ToolTurn(
    { tokenizer: tok } as unknown as LLM,
    parseToolFields(body, r)!,
    withToolMessages(body, r.messages),
  );
  const text = tok.decode(t.prompt);
  assert.match(text, /<tools>[\s\S]*"get_weather"[\s\S]*<\/tools>/);
  assert.match(text, /<tool_call>\n\{"name": "add", "arguments": \{"a": 2, "b": 3\}\}\n<\/tool_call>/);
  assert.match(text, /<tool_response>\n5\n<\/tool_response>/);
  assert.equal(t.format.name, "hermes");
});

test("serve --mcp: MCP tools offered to a request without tools; the server runs the calls on the MCP server", async () => {
  const r = (await client.chat.completions.create({
    model: "m",
    messages: [{ role: "user", content: "Add 2 and 3." }],
    tool_choice: { type: "function", function: { name: "add" } },
    parallel_tool_calls: false,
    temperature: 1,
    seed: 5,
    max_tokens: 100,
  })) as OpenAI.Chat.Completions.ChatCompletion & {
    tool_trace: { name: string; arguments: string; result: string }[];
  };
  assert.equal(typeof r.choices[0].message.content, "string");
  assert.equal(r.choices[0].message.tool_calls, undefined);
  assert.ok(r.tool_trace.length >= 1);
  for (const t of r.tool_trace) {
    assert.equal(t.name, "add");
    const { a, b } = JSON.parse(t.arguments);
    assert.equal(t.result, `stdio:${a + b}`); // the MCP server's answer to the model's arguments
  }
  // Streaming: every step's content as generated, the trace on the last chunk.
  const stream = await client.chat.completions.create({
    model: "m",
    messages: [{ role: "user", content: "Add 1 and 1." }],
    tool_choice: "required",
    parallel_tool_calls: false,
    temperature: 1,
    seed: 6,
    max_tokens: 100,
    stream: true,
  });
  let streamedTrace: { name: string; arguments: string; result: string }[] | undefined;
  let finish: string | null | undefined;
  for await (const c of stream) {
    const x = c as typeof c & { tool_trace?: typeof streamedTrace };
    if (x.tool_trace) streamedTrace = x.tool_trace;
    finish = c.choices[0]?.finish_reason ?? finish;
    assert.equal(c.choices[0]?.delta?.tool_calls, undefined);
  }
  assert.ok(finish === "stop" || finish === "length");
  assert.ok(streamedTrace && streamedTrace.length >= 1);
  for (const t of streamedTrace) {
    const { a, b } = JSON.parse(t.arguments);
    assert.equal(t.result, t.name === "add" ? `stdio:${a + b}` : t.result);
  }
  // A request with its own tools is not affected: its calls go back to the client.
  const own = await client.chat.completions.create({
    model: "m",
    messages: [{ role: "user", content: "hi" }],
    tools: [
      {
        type: "function",
        function: {
          name: "ping",
          parameters: { type: "object", properties: {}, additionalProperties: false },
        },
      },
    ],
    tool_choice: "required",
    parallel_tool_calls: false,
    max_tokens: 40,
  });
  assert.equal(own.choices[0].finish_reason, "tool_calls");
  assert.equal(
    own.choices[0].message.tool_calls![0].type === "function" &&
      own.choices[0].message.tool_calls![0].function.name,
    "ping",
  );
});

test("serve --mcp: an unreadable config exits 1 before the model loads", async () => {
  const p = spawn(
    process.execPath,
    [
      fileURLToPath(new URL("../../src/cli/main.js", import.meta.url)),
      "serve",
      "-m",
      join(dir, "missing.gguf"),
      "--mcp",
      join(dir, "nope.json"),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  const code = await new Promise((r) => p.on("exit", r));
  assert.equal(code, 1);
  assert.match(err, /MCP config/);
});
