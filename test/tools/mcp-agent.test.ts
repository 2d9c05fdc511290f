import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { InputError } from "../../src/errors.js";
import { runAgent, type AgentModel } from "../../src/tools/agent.js";
import { calculatorTool } from "../../src/tools/builtin/calculator.js";
import { connectMcpServers, parseMcpConfig } from "../../src/tools/mcp.js";
import { parseToolCalls } from "../../src/tools/parse.js";
import { ToolSet } from "../../src/tools/registry.js";
import type { ToolDefinition } from "../../src/tools/types.js";
import type { ChatMessage } from "../../src/tokenizer/chat-template.js";
import { mcpHttpServer } from "./fixtures/mcp-server.js";

const serverScript = fileURLToPath(new URL("./fixtures/mcp-server.js", import.meta.url));

/**
 * A scripted "model": it answers with Hermes-format text that the real parser turns into tool
 * calls, and reads tool results from the conversation to decide the next turn.
 */
function scriptedModel(
  script: ((msgs: { role: string; content: unknown }[]) => string)[],
): AgentModel & { seen: unknown[][] } {
  let i = 0;
  const seen: unknown[][] = [];
  const f = (async (messages: ChatMessage[], tools: ToolDefinition[]) => {
    seen.push(tools.map((t) => t.function.name));
    const text = script[Math.min(i++, script.length - 1)](messages as never);
    return parseToolCalls(text, "hermes");
  }) as unknown as AgentModel & { seen: unknown[][] };
  f.seen = seen;
  return f;
}

test("MCP over stdio and streamable HTTP: tools listed, called by the model's tool calls", async () => {
  const http = await mcpHttpServer();
  const mcp = await connectMcpServers(
    parseMcpConfig({
      mcpServers: { local: { command: process.execPath, args: [serverScript] }, remote: { url: http.url } },
    }),
    { timeoutMs: 20000 },
  );
  try {
    const names = mcp.tools.map((t) => t.definition.function.name);
    // The second server's tools collide with the first's and get prefixed.
    assert.deepEqual(names, ["add", "shout", "fail", "remote__add", "remote__shout", "remote__fail"]);
    const add = mcp.tools[0].definition.function.parameters as {
      properties: Record<string, unknown>;
      required: string[];
    };
    assert.deepEqual(Object.keys(add.properties), ["a", "b"]);
    const tools = new ToolSet([...mcp.tools, calculatorTool]);
    const model = scriptedModel([
      () =>
        'I will add.\n<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 40}}\n</tool_call>\n<tool_call>\n{"name": "remote__add", "arguments": {"a": 1, "b": 1}}\n</tool_call>',
      (msgs) => {
        const results = msgs.filter((m) => m.role === "tool").map((m) => m.content);
        assert.deepEqual(results, ["stdio:42", "http:2"]);
        return '<tool_call>\n{"name": "remote__shout", "arguments": {"text": "done"}}\n</tool_call><tool_call>\n{"name": "fail", "arguments": {}}\n</tool_call>';
      },
      (msgs) =>
        `Final: ${msgs
          .filter((m) => m.role === "tool")
          .map((m) => m.content)
          .join(", ")}`,
    ]);
    const events: string[] = [];
    const r = await runAgent({
      model,
      tools,
      messages: [{ role: "user", content: "go" }],
      onEvent: (e) => events.push(e.type),
    });
    assert.equal(r.stopReason, "final");
    assert.equal(r.steps, 3);
    assert.equal(r.final, "Final: stdio:42, http:2, DONE, error: broken");
    assert.deepEqual(events, [
      "assistant",
      "tool_result",
      "tool_result",
      "assistant",
      "tool_result",
      "tool_result",
      "assistant",
    ]);
    const toolMsgs = r.messages.filter((m) => m.role === "tool") as unknown as { tool_call_id: string }[];
    const callIds = r.messages.flatMap((m) =>
      ((m as { tool_calls?: { id: string }[] }).tool_calls ?? []).map((c) => c.id),
    );
    assert.deepEqual(
      toolMsgs.map((m) => m.tool_call_id),
      callIds,
    );
  } finally {
    await mcp.close();
    http.server.close();
  }
});

test("agent loop stops at the step limit and withholds tools on the last step", async () => {
  const model = scriptedModel([
    () => '<tool_call>\n{"name": "calculator", "arguments": {"expression": "1+1"}}\n</tool_call>',
  ]);
  const r = await runAgent({
    model,
    tools: new ToolSet([calculatorTool]),
    messages: [{ role: "user", content: "loop" }],
    maxSteps: 3,
  });
  assert.equal(r.stopReason, "max_steps");
  assert.deepEqual(model.seen, [["calculator"], ["calculator"], []]);
  assert.equal(r.messages.filter((m) => m.role === "tool").length, 2);
  // Unknown tools and bad arguments come back as error results, not exceptions.
  const t = new ToolSet([calculatorTool]);
  assert.match(
    await t.call({ id: "x", type: "function", function: { name: "nope", arguments: "{}" } }),
    /^error: unknown tool/,
  );
  assert.match(
    await t.call({ id: "x", type: "function", function: { name: "calculator", arguments: "{oops" } }),
    /^error: arguments are not valid JSON/,
  );
});

test("bad MCP configs and unreachable servers are InputErrors", async () => {
  for (const bad of [
    {},
    { mcpServers: [] },
    { mcpServers: { x: {} } },
    { mcpServers: { x: { url: "not a url" } } },
    { mcpServers: { x: { command: "a", args: [1] } } },
    { mcpServers: { "bad name": { url: "http://x" } } },
  ]) {
    assert.throws(() => parseMcpConfig(bad), InputError, JSON.stringify(bad));
  }
  // the error names the offending JSON path
  for (const [bad, field] of [
    [{ mcpServers: { x: { command: "a", args: ["ok", 1] } } }, "mcpServers.x.args[1]"],
    [{ mcpServers: { x: { url: "http://x", headers: { h: 2 } } } }, "mcpServers.x.headers.h"],
    [{ mcpServers: { "bad name": { url: "http://x" } } }, "mcpServers.bad name"],
    [{ mcpServers: { x: { url: "nope" } } }, "mcpServers.x.url"],
  ] as const)
    assert.throws(
      () => parseMcpConfig(bad),
      (e: unknown) => e instanceof InputError && e.context.field === field,
      field,
    );
  await assert.rejects(
    connectMcpServers({ dead: { url: "http://127.0.0.1:1/mcp" } }, { timeoutMs: 3000 }),
    /cannot connect to MCP server 'dead'/,
  );
  await assert.rejects(
    connectMcpServers({ dead: { command: "/nonexistent/binary" } }, { timeoutMs: 3000 }),
    /cannot connect to MCP server 'dead'/,
  );
});
