// Sliding-window layers in their own KV group (kv/paged-cache.ts KVGroup): the windowed group's
// blocks stay constant as the context grows while the global group's grow with it; the tokens are
// those of a cache that keeps every position (--swa-full), through prefix sharing and context
// shifts. (Tokens against llama.cpp: test/conformance/swa-engine.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM, type LLM } from "../../src/index.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { kvRowBytes } from "../../src/kv/quant-kv.js";
import { prompt } from "../engine/helpers.js";

const W = 32;
const B = 16;
const SPEC: TestModelSpec = {
  arch: "gemma3",
  nEmbd: 64,
  nLayer: 4,
  nHead: 4,
  nHeadKv: 2,
  headDim: 32,
  nFf: 96,
  nCtx: 8192,
  nVocab: 400,
  ropeFreqBase: 1e6,
  // layers 0-2 local (window W), layer 3 global
  swa: { window: W, pattern: 4 },
  seed: 11,
};
const dir = mkdtempSync(join(tmpdir(), "swa-cache-"));
const path = join(dir, "g.gguf");
await writeTestModel(path, SPEC);
test.after(() => rmSync(dir, { recursive: true, force: true }));

const greedy = { temperature: 0, ignoreEos: true } as const;
// f32 K and V rows of 2 KV heads x 32, per layer.
const ROW = kvRowBytes("f32", 64) * 2;

/**
 * Group bytes (blocks held x block bytes) when a prompt of `len` tokens is computed (at its first
 * token, while the sequence is live). Lengths = 4 mod 128: the last prefill chunk (128) starts at
 * the same offset in a block of 16, so the windowed group's blocks are comparable.
 */
async function bytesAt(llm: LLM, len: number): Promise<number[]> {
  let seen: number[] | undefined;
  for await (const ch of llm.generate(prompt(len, len), { ...greedy, maxTokens: 2 }))
    if (ch.type === "token") seen ??= llm.engine.stats().kvGroups.map((g) => g.usedBytes);
  return seen!;
}

test("windowed group: constant bytes at 260, 1,028 and 4,100 positions while the global group grows", async () => {
  const llm = await loadLLM(path, { contextSize: 4160, blockSize: B, parallel: 1, threads: 1 });
  const full = await loadLLM(path, {
    contextSize: 4160,
    blockSize: B,
    parallel: 1,
    threads: 1,
    swaFull: true,
  });
  try {
    const groups = llm.engine.stats().kvGroups;
    assert.deepEqual(
      groups.map((g) => [g.window, g.layers]),
      [
        [0, 1],
        [W, 3],
      ],
    );
    assert.deepEqual(
      full.engine.stats().kvGroups.map((g) => [g.window, g.layers]),
      [[0, 4]],
    );
    const rows: string[] = [];
    let windowed: number | undefined;
    for (const len of [260, 1028, 4100]) {
      const [global, local] = await bytesAt(llm, len);
      const [all] = await bytesAt(full, len);
      // len positions computed (the next decode step's reserve needs no new block: len = 4 mod 16).
      const held = Math.ceil(len / B);
      assert.equal(global, held * B * ROW, `global group at ${len}`);
      assert.equal(all, held * B * ROW * 4, `--swa-full at ${len}`);
      // The window of the next position, plus the block being written.
      assert.ok(local <= (Math.ceil(W / B) + 1) * B * ROW * 3, `windowed ${local} B at ${len}`);
      windowed ??= local;
      assert.equal(local, windowed, `windowed group bytes change at ${len}`);
      rows.push(`${len}: global ${global} B, windowed ${local} B, swa-full ${all} B`);
    }
    console.log(`# KV per group (gemma3 4 layers, W ${W}, B ${B}): ${rows.join("; ")}`);
  } finally {
    await llm.close();
    await full.close();
  }
});

test("windowed KV gives the tokens of full KV: prefill, decode past the window, a shared prefix, context shifts", async () => {
  const opts = { contextSize: 96, blockSize: 8, parallel: 2, threads: 1 } as const;
  const llm = await loadLLM(path, opts);
  const full = await loadLLM(path, { ...opts, swaFull: true });
  try {
    const p = prompt(70, 9);
    for (const maxTokens of [20, 20]) {
      // The second run adopts the first one's prefix: global blocks all, windowed blocks the window's.
      const a = await llm.complete(p, { ...greedy, maxTokens });
      const b = await full.complete(p, { ...greedy, maxTokens });
      assert.deepEqual(a.choices[0].tokens, b.choices[0].tokens);
      assert.equal(a.usage.cachedTokens, b.usage.cachedTokens);
    }
    assert.ok(llm.engine.stats().cachedPromptTokens > 0, "the second prompt adopted a cached prefix");
    // Past the context: rope shifts keep what each group's window still reads.
    const shifted = { ...greedy, maxTokens: 200, contextShift: { keep: 4 } } as const;
    const before = llm.engine.stats().contextShifts;
    const a = await llm.complete(prompt(30, 4), shifted);
    const b = await full.complete(prompt(30, 4), shifted);
    const shifts = llm.engine.stats().contextShifts - before;
    assert.ok(shifts >= 2, `${shifts} shifts`);
    assert.deepEqual(a.choices[0].tokens, b.choices[0].tokens);
  } finally {
    await llm.close();
    await full.close();
  }
});
