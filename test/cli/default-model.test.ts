/**
 * The README's main command: `edgellm run "<question>"` with no -m uses the embedded default
 * model, renders the chat template, and answers in the trained format (think block, answer line).
 * Correctness of the sums is measured by `edgellm eval`, not asserted here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { DEFAULT_MODEL_PATH } from "../../src/cli/default-model.js";
import { execCli } from "./helpers.js";

const cli = (...args: string[]) => execCli(args, 16 << 20);

test("the default model ships with the package", () => {
  assert.ok(existsSync(DEFAULT_MODEL_PATH), DEFAULT_MODEL_PATH);
});

test('run "<question>" without -m answers with visible reasoning and an answer line', async () => {
  const { stdout, stderr } = await cli("run", "What is 4821 + 377?", "--threads", "1");
  assert.match(stdout, /<think>[\s\S]*<\/think>/);
  assert.match(stdout, /The answer is -?\d+\./);
  assert.match(stderr, /edgellm-default: load \d+ ms \| TTFT \d+ ms \| \d+ tok/);
});

test("run: a working longer than 512 tokens is not cut off (the default is the room left in the context)", async () => {
  // a 3×3 product is worked in ~900 tokens; 512 was the default until session 13
  const { stdout, stderr } = await cli("run", "What is 521 * 666?", "--threads", "1");
  assert.match(stdout, /<\/think>\s*The answer is -?\d+\./);
  const n = Number(stderr.match(/\| (\d+) tok \|/)![1]);
  assert.ok(n > 512, stderr);
});

test("run: a message and -p together, or a missing model file, exit 1 with a message", async () => {
  for (const args of [
    ["run", "hi", "-p", "hello"],
    ["run", "-m", "/nonexistent/model.gguf", "hi"],
  ]) {
    await assert.rejects(cli(...args), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1, e.stderr);
      assert.match(e.stderr, /edgellm: \w+Error: /);
      return true;
    });
  }
});
