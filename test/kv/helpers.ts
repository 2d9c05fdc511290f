// Shared by the eviction tests (h2o, snapkv): the small model they run on, and the run through
// the engine every scored policy must pass.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EvictionPolicy, LLM } from "../../src/index.js";
import { writeTestModel } from "../../src/model/factory/index.js";
import { SMALL, prompt } from "../engine/helpers.js";

/** The engine tests' small llama with a 512-position context, written to a temporary file that is
 *  removed after the test file; its path. */
export async function evictionTestModel(prefix: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, "m.gguf");
  await writeTestModel(path, { ...SMALL, nCtx: 512 });
  test.after(() => rmSync(dir, { recursive: true, force: true }));
  return path;
}

/**
 * 300 greedy tokens after a 20-token prompt with `eviction` on llm (loaded with blockSize): all
 * 300 come out, the KV never holds more blocks than the policy's budget fills, and the first 40
 * (before any eviction) equal plain greedy decoding's.
 */
export async function assertEvictingRun(
  llm: LLM,
  eviction: EvictionPolicy,
  blockSize: number,
): Promise<void> {
  const p = prompt(20, 4);
  const toks: number[] = [];
  let maxUsed = 0;
  for await (const ch of llm.generate(p, { maxTokens: 300, temperature: 0, ignoreEos: true, eviction }))
    if (ch.type === "token") {
      toks.push(ch.token);
      maxUsed = Math.max(maxUsed, llm.stats().kv.used);
    }
  assert.equal(toks.length, 300);
  assert.ok(maxUsed <= eviction.budget / blockSize, `blocks ${maxUsed}`);
  const plain = await llm.complete(p, { maxTokens: 40, temperature: 0, ignoreEos: true });
  assert.deepEqual(toks.slice(0, 40), plain.choices[0].tokens);
}
