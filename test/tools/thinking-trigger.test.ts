/**
 * tool_choice auto with a reasoning model: a `<tool_call>` written inside `<think>...</think>` must
 * not switch the lazy grammar on (the model is thinking about a call, not making one); the real
 * call after `</think>` is constrained. Real Qwen3 vocabulary, token by token.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { thinkingBlock, toolConstraintFactory } from "../../src/tools/tool-grammar.js";
import type { LazyGrammarMatcher } from "../../src/sampling/grammar/index.js";
import type { ToolDefinition } from "../../src/tools/types.js";
import { realTokenizer } from "../grammar/vocab.js";

const tok = realTokenizer("qwen3");
const TOOLS: ToolDefinition[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];
const CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';

function feed(m: LazyGrammarMatcher, text: string): { rejectedAt?: string } {
  for (const id of tok.encode(text, { parseSpecial: true })) {
    if (!m.isAllowed(id)) return { rejectedAt: tok.tokenText(id) };
    m.accept(id);
  }
  return {};
}

test("thinkingBlock: Qwen3 has <think> tokens; startInside when the prompt opened the block", () => {
  assert.deepEqual(thinkingBlock(tok, "<|im_start|>assistant\n"), {
    open: "<think>",
    close: "</think>",
    startInside: false,
  });
  assert.equal(thinkingBlock(tok, "<|im_start|>assistant\n<think>\n")!.startInside, true);
  assert.equal(thinkingBlock({ tokenId: () => undefined }, ""), undefined);
});

test("a <tool_call> inside <think> does not trigger; the call after </think> is constrained", () => {
  const thinking = "<think>\nI could emit <tool_call> right now, or answer.\n</think>\n\nChecking. ";
  const skip = thinkingBlock(tok, "<|im_start|>assistant\n");
  const m = toolConstraintFactory(TOOLS, "auto", "hermes", tok, true, skip)!() as LazyGrammarMatcher;
  assert.deepEqual(feed(m, thinking), {});
  assert.equal(m.active, false);
  assert.deepEqual(feed(m, CALL), {});
  assert.equal(m.active, true);
  assert.ok(m.isComplete());
  // The grammar is on after the real trigger: free text is refused now.
  const m2 = toolConstraintFactory(TOOLS, "auto", "hermes", tok, true, skip)!() as LazyGrammarMatcher;
  feed(m2, thinking + "<tool_call>\n");
  assert.ok(feed(m2, "hello").rejectedAt !== undefined);
  // Without the skip, the thought would have started a call and its next words be refused.
  const bare = toolConstraintFactory(TOOLS, "auto", "hermes", tok, true)!() as LazyGrammarMatcher;
  assert.ok(feed(bare, thinking).rejectedAt !== undefined);
});

test("prompt-opened block (startInside): skipped up to </think>", () => {
  const m = toolConstraintFactory(TOOLS, "auto", "hermes", tok, true, {
    open: "<think>",
    close: "</think>",
    startInside: true,
  })!() as LazyGrammarMatcher;
  assert.deepEqual(feed(m, "maybe <tool_call> later\n</think>\n\n"), {});
  assert.equal(m.active, false);
  assert.deepEqual(feed(m, CALL), {});
  assert.ok(m.active && m.isComplete());
});
