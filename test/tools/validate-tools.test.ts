// validateTools: OpenAI function-tool definitions from outside (requests, MCP servers, library
// callers); each bad shape is an InputError whose field names the JSON path, as OpenAI's `param`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateTools } from "../../src/tools/prompt.js";
import { InputError } from "../../src/errors.js";

const fn = (f: object) => ({ type: "function", function: f });

test("validateTools: good definitions pass, each bad one names its path", () => {
  validateTools([]);
  validateTools([
    fn({ name: "add", description: "x", parameters: { type: "object" } }),
    fn({ name: "a.b-c_1" }),
  ]);
  for (const [bad, field] of [
    [{}, "tools"],
    [[3], "tools[0]"],
    [[{ type: "tool", function: { name: "a" } }], "tools[0].type"],
    [[{ type: "function" }], "tools[0].function"],
    [[fn({ name: "has space" })], "tools[0].function.name"],
    [[fn({ name: 5 })], "tools[0].function.name"],
    [[fn({ name: "x".repeat(65) })], "tools[0].function.name"],
    [[fn({ name: "a" }), fn({ name: "a" })], "tools[1].function.name"],
    [[fn({ name: "a", parameters: null })], "tools[0].function.parameters"],
    [[fn({ name: "a", parameters: [1] })], "tools[0].function.parameters"],
  ] as const)
    assert.throws(
      () => validateTools(bad),
      (e: unknown) => e instanceof InputError && e.context.field === field && e.message.startsWith(field),
      `${JSON.stringify(bad)} -> ${field}`,
    );
});
