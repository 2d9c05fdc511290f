/**
 * Tools on the command line, as child processes on a random-weight llama GGUF with the real
 * Qwen3 vocabulary + template:
 *  - `edgellm chat --tools calculator --tool-choice calculator`: the agent loop runs in the CLI,
 *    the calculator is called with arguments that parse, its result is fed back, and the turn
 *    ends with an answer on stdout (the last step is made without tools);
 *  - bad flags exit 1 before the model loads.
 * (`serve --mcp` is tested in server-tools.test.ts, on the same served process.)
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeRealVocabModel } from "../grammar/vocab.js";
import { runCli } from "../cli/helpers.js";

let dir: string;
let model: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "edgellm-cli-tools-"));
  model = join(dir, "m.gguf");
  await writeRealVocabModel(model, { nCtx: 1024 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[], stdin: string) => runCli(args, { stdin });

test("chat --tools: the calculator is called with valid arguments, its result fed back, then an answer", async () => {
  // A random model rarely closes a free string soon; seed 2 closes the expression within 150
  // tokens (seeds 1-5: 3 of 5 do). Whatever the seed, a call that completes parses (grammar).
  const r = await run(
    [
      "chat",
      "-m",
      model,
      "--threads",
      "1",
      "-c",
      "1024",
      "--temp",
      "0.7",
      "--top-p",
      "1",
      "--seed",
      "2",
      "-n",
      "150",
      "--tools",
      "calculator",
      "--tool-choice",
      "calculator",
      "--max-steps",
      "2",
    ],
    "What is 6*7?\n",
  );
  assert.equal(r.code, 0, r.err);
  const calls = [...r.err.matchAll(/\[call calculator\((.*)\)\]\n/g)].map((m) => JSON.parse(m[1]));
  assert.equal(calls.length, 1, r.err);
  assert.equal(typeof calls[0].expression, "string");
  assert.match(r.err, /\[calculator -> .+\]\n/);
  // Step 2 is the last: no tools, so the model answers (free text) and the turn ends.
  assert.doesNotMatch(r.err, /stopped after/);
  assert.ok(r.out.length > 0);
});

test("chat --tools: unknown tool or bad --tool-choice exits 1 before loading", async () => {
  const a = await run(["chat", "-m", join(dir, "missing.gguf"), "--tools", "calculator,rm"], "");
  assert.equal(a.code, 1);
  assert.match(a.err, /unknown tool 'rm'/);
  const b = await run(
    ["chat", "-m", join(dir, "missing.gguf"), "--tools", "js", "--tool-choice", "calculator"],
    "",
  );
  assert.equal(b.code, 1);
  assert.match(b.err, /--tool-choice/);
});
