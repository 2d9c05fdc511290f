// Issue 14 finding 7: grammar compilation blocks the event loop. A 267 KiB tool list or a
// 3,000-property schema took 0.7-1.2 s on the main thread (seconds on the embedded model), and a
// tool grammar was compiled even when the request was then refused for length. Now: size limits
// (openai/limits.ts) refuse such fields with a 400 before any grammar work, the grammar is
// compiled only after the context check, and /health keeps answering within a deadline while a
// big-but-allowed grammar compiles. Compilation still runs on the main thread (no worker yet).
// A real `edgellm serve` on the embedded default model (its real vocabulary).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startServe, type Served } from "../server/serve-process.js";

const MAX_SCHEMA_PROPERTIES = 256; // openai/limits.ts
const MODEL = fileURLToPath(new URL("../../../models/edgellm-default-q8_0.gguf", import.meta.url));
let srv: Served;
before(async () => {
  srv = await startServe(MODEL, ["--threads", "1", "--model-id", "m"]);
});
after(async () => {
  if (srv?.proc.exitCode === null) srv.proc.kill("SIGKILL");
});

const chat = (extra: object, signal?: AbortSignal) =>
  fetch(`${srv.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 1,
      ...extra,
    }),
    signal: signal ?? AbortSignal.timeout(60_000),
  });
const flat = (n: number) => ({
  type: "object",
  properties: Object.fromEntries(Array.from({ length: n }, (_, j) => [`p${j}`, { type: "integer" }])),
});
const tool = (i: number, parameters: object) => ({
  type: "function",
  function: { name: `tool_${i}`, description: "x".repeat(200), parameters },
});

test("finding 7: oversized tool lists and schemas are 400 before any grammar work", async () => {
  const cases: [object, string][] = [
    [
      { response_format: { type: "json_schema", json_schema: { name: "x", schema: flat(3000) } } },
      "response_format.json_schema.schema",
    ],
    [{ tools: Array.from({ length: 120 }, (_, i) => tool(i, flat(20))), tool_choice: "required" }, "tools"],
    [{ tools: Array.from({ length: 900 }, (_, i) => tool(i, { type: "object" })) }, "tools"],
  ];
  for (const [extra, param] of cases) {
    const t0 = performance.now();
    const r = await chat(extra);
    const ms = performance.now() - t0;
    assert.equal(r.status, 400, `${param}: ${(await r.clone().text()).slice(0, 200)}`);
    assert.equal((await r.json()).error.param, param);
    assert.ok(ms < 5_000, `${param}: refused after ${ms.toFixed(0)} ms`);
  }
});

test("finding 7: a request over the context is refused before its tool grammar is compiled", async () => {
  // This tool schema fails only when its grammar is compiled; the prompt is over the context.
  const r = await chat({
    messages: [{ role: "user", content: "word ".repeat(2_000) }],
    tools: [tool(0, { type: "object", properties: { a: { $ref: "#/nope" } } })],
    tool_choice: "required",
  });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.code, "context_length_exceeded");
});

test("finding 7: /health answers within 2 s while a big-but-allowed grammar compiles", async () => {
  let done = false;
  const work = Promise.all(
    [0, 1, 2].map((k) =>
      chat({
        response_format: {
          type: "json_schema",
          json_schema: { name: `x${k}`, schema: flat(MAX_SCHEMA_PROPERTIES - k) },
        },
      }),
    ),
  ).finally(() => (done = true));
  let probes = 0;
  while (!done) {
    const t0 = performance.now();
    const h = await fetch(`${srv.url}/health`, { signal: AbortSignal.timeout(2_000) });
    assert.equal(h.status, 200);
    await h.arrayBuffer();
    assert.ok(performance.now() - t0 < 2_000);
    probes++;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const r of await work) assert.equal(r.status, 200, (await r.text()).slice(0, 200));
  assert.ok(probes > 0);
});
