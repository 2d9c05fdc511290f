// Token eviction (kv/eviction.ts) through the engine: StreamingLLM at a 256-position budget
// generates 2,000 tokens without failing, the sequence never holds more than the budget's blocks,
// and the tokens before the first eviction equal plain greedy decoding's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM, StreamingLLM, InputError } from "../../src/index.js";
import { writeTestModel } from "../../src/model/factory/index.js";
import { SMALL, prompt } from "../engine/helpers.js";
import { slidingWindowPolicy } from "../../src/kv/eviction.js";
import { layerWindow } from "../../src/model/forward.js";

test("StreamingLLM: 2,000 tokens at a 256 budget, memory bounded, same tokens until the first eviction", async () => {
  const dir = mkdtempSync(join(tmpdir(), "evict-"));
  const path = join(dir, "m.gguf");
  await writeTestModel(path, { ...SMALL, nCtx: 512 });
  const llm = await loadLLM(path, { contextSize: 512, blockSize: 16, parallel: 1, threads: 1 });
  try {
    const p = prompt(40, 9);
    const policy = new StreamingLLM(256, 4, 128);
    let n = 0;
    let maxUsed = 0;
    const toks: number[] = [];
    let done: { reason: string; droppedTokens?: number; contextShifts?: number } | undefined;
    for await (const c of llm.generate(p, {
      maxTokens: 2000,
      temperature: 0,
      ignoreEos: true,
      eviction: policy,
    })) {
      if (c.type === "token") {
        toks.push(c.token);
        if (++n % 50 === 0) maxUsed = Math.max(maxUsed, llm.stats().kv.used);
      } else done = c;
    }
    assert.equal(n, 2000);
    assert.equal(done?.reason, "length");
    assert.ok((done?.contextShifts ?? 0) >= 14, JSON.stringify(done));
    assert.ok(maxUsed <= 256 / 16, `blocks used ${maxUsed}`);
    // Before the first eviction (prompt + generated < 256) the output is plain greedy decoding.
    const plain = await llm.complete(p, { maxTokens: 200, temperature: 0, ignoreEos: true });
    assert.deepEqual(toks.slice(0, 200), plain.choices[0].tokens);
    assert.throws(() => new StreamingLLM(8, 4, 4), InputError);
    await assert.rejects(async () => {
      for await (const _ of llm.generate(prompt(300, 1), { maxTokens: 4, eviction: policy }));
    }, InputError);
  } finally {
    await llm.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("sliding-window model: SlidingWindow eviction keeps only the window and decodes as the full cache does", async () => {
  const dir = mkdtempSync(join(tmpdir(), "evict-swa-"));
  const path = join(dir, "m.gguf");
  await writeTestModel(path, { ...SMALL, nCtx: 512, metadata: { "llama.attention.sliding_window": 32 } });
  const full = await loadLLM(path, { contextSize: 512, blockSize: 16, parallel: 1, threads: 1 });
  const evict = await loadLLM(path, { contextSize: 512, blockSize: 16, parallel: 1, threads: 1 });
  try {
    const c = evict.model.config;
    assert.equal(c.slidingWindow, 32);
    const policy = slidingWindowPolicy(c, (l) => layerWindow(c, l), 64)!;
    assert.equal(policy.window, 32);
    assert.equal(
      slidingWindowPolicy({ ...c, slidingWindow: 0 }, () => 0),
      undefined,
    );
    const p = prompt(20, 5);
    const opts = { maxTokens: 300, temperature: 0, ignoreEos: true } as const;
    const a = await full.complete(p, opts);
    let maxUsed = 0;
    const toks: number[] = [];
    for await (const ch of evict.generate(p, { ...opts, eviction: policy }))
      if (ch.type === "token") {
        toks.push(ch.token);
        maxUsed = Math.max(maxUsed, evict.stats().kv.used);
      }
    assert.ok(maxUsed <= 64 / 16, `blocks ${maxUsed}`);
    let same = 0;
    while (same < toks.length && toks[same] === a.choices[0].tokens[same]) same++;
    assert.equal(same, 300, `diverges at ${same}`);
  } finally {
    await full.close();
    await evict.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
