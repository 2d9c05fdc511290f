/**
 * The router reads local answers from the server's chat.completion, which now carries a thinking
 * model's think block in `reasoning_content` (reasoning/split-default.ts): the answer checks see
 * the whole text again (think block + answer), and a checked answer released as SSE keeps its
 * reasoning_content delta before the content.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { choiceText, writeCompletionAsSse } from "../../../src/server/routing/shapes.js";
import { splitReasoning } from "../../../src/reasoning/split.js";
import type { RouteDecision } from "../../../src/router/decision.js";

const TEXT =
  "<think>\n27 + 15\n7 + 5 + 0 = 12, write 2, carry 1\nso 27 + 15 = 42\n</think>\nThe answer is 42.";
const parts = splitReasoning(TEXT);
const body = {
  id: "chatcmpl-1",
  created: 1,
  model: "m",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: parts.content, reasoning_content: parts.reasoning },
      logprobs: null,
      finish_reason: "stop",
    },
  ],
};

test("choiceText puts a split-off reasoning_content back in its think block", () => {
  assert.equal(choiceText(body), TEXT);
  const unsplit = { choices: [{ message: { content: TEXT } }] };
  assert.equal(choiceText(unsplit), TEXT);
  assert.equal(splitReasoning(choiceText(body)).content, parts.content);
});

test("writeCompletionAsSse sends reasoning_content, then content", () => {
  let out = "";
  const res = {
    writeHead: () => res,
    write: (s: string) => ((out += s), true),
    end: (s: string) => ((out += s), res),
  };
  const d: RouteDecision = { route: "local", reason: "local_default", details: "" };
  writeCompletionAsSse(res as unknown as ServerResponse, body, d, false);
  let reasoning = "";
  let content = "";
  for (const line of out.split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    for (const c of JSON.parse(line.slice(6)).choices) {
      reasoning += c.delta.reasoning_content ?? "";
      content += c.delta.content ?? "";
    }
  }
  assert.equal(reasoning, parts.reasoning);
  assert.equal(content, "The answer is 42.");
  assert.ok(out.indexOf("reasoning_content") < out.indexOf("The answer is 42."));
});
