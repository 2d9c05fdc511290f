/**
 * reasoning_content by default for thinking models: the decision from the vocabulary/template and
 * the request's reasoning_format (its validation: test/server/validate-chat.test.ts); and the split
 * itself on the default model's output shape (think block -> reasoning, answer -> content).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { modelThinks, splitsReasoning } from "../../src/reasoning/split-default.js";
import { splitReasoning } from "../../src/reasoning/split.js";

const vocab = (tokens: string[], chatTemplate?: string) => ({
  tokenId: (t: string) => (tokens.includes(t) ? tokens.indexOf(t) : undefined),
  chatTemplate,
});

test("models with think tokens (or a template that writes <think>) split by default", () => {
  assert.equal(modelThinks(vocab(["<think>", "</think>"])), true);
  assert.equal(modelThinks(vocab([], "{{ '<think>\\n' }}")), true);
  assert.equal(modelThinks(vocab(["<|im_start|>"], "{{ message.content }}")), false);
  assert.equal(splitsReasoning("auto", true, false), true);
  assert.equal(splitsReasoning("auto", false, false), false);
  assert.equal(splitsReasoning("auto", false, true), true);
  assert.equal(splitsReasoning("none", true, true), false);
  assert.equal(splitsReasoning("deepseek", false, false), true);
});

test("the default model's answer splits into reasoning_content and content", () => {
  const text = "<think>\n8421 - 8420\n1 - 0 - 0 = 1, borrow 0, so far 1\n</think>\nThe answer is 1.";
  const p = splitReasoning(text);
  assert.equal(p.content, "The answer is 1.");
  assert.ok(p.reasoning.includes("so far 1") && !p.reasoning.includes("<think>"));
});
