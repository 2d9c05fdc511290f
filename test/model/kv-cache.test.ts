/**
 * KV-cache sizing and input checks: MLA caches only (kv_lora_rank + rope_dim) floats per token per
 * layer, the figure `inspect` reports (kvElementsPerToken); GQA caches kv_heads x (k + v) dims.
 * Bad tokens, overflowing the cache and bad output indices are typed errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../src/errors.js";
import { openGGUF } from "../../src/gguf/reader.js";
import { kvElementsPerToken, readHParams } from "../../src/model/arch/hparams.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadModel } from "../../src/model/index.js";

const small = { nEmbd: 64, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 96, nCtx: 256, nVocab: 300 };

async function withModel(spec: TestModelSpec, fn: (path: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "kv-"));
  try {
    const path = join(dir, "m.gguf");
    await writeTestModel(path, spec);
    await fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("MLA cache bytes per token = (kv_lora_rank + rope_dim) x layers x 4, as inspect reports", async () => {
  const spec: TestModelSpec = {
    arch: "deepseek2",
    ...small,
    nHeadKv: 4,
    mla: { qLoraRank: 0, kvLoraRank: 32, nopeDim: 16, ropeDim: 8, vDim: 16 },
    moe: { nExpert: 4, nExpertUsed: 2, nFfExp: 16, nShared: 1, leadingDense: 1 },
  };
  await withModel(spec, async (path) => {
    const m = await loadModel(path);
    const cache = m.newCache(8, "f32");
    assert.equal(cache.bytesPerToken(), (32 + 8) * 2 * 4);
    const g = await openGGUF(path);
    try {
      assert.equal(kvElementsPerToken(readHParams(g.metadata)) * 4, cache.bytesPerToken());
    } finally {
      await g.close();
    }
    assert.equal(m.newCache(8, "f16").bytesPerToken(), (32 + 8) * 2 * 2);
  });
});

test("GQA cache size, and typed errors for bad tokens, overflow and output indices", async () => {
  await withModel({ arch: "llama", ...small }, async (path) => {
    const m = await loadModel(path);
    const cache = m.newCache(4, "f32");
    assert.equal(cache.bytesPerToken(), 2 * 2 * (16 + 16) * 4);
    assert.throws(() => m.forward([1, 300], cache), InputError);
    assert.throws(() => m.forward([1, -1], cache), InputError);
    assert.throws(() => m.forward([1, 2], cache, [2]), InputError);
    assert.throws(() => m.forward([1, 2, 3, 4, 5], cache), InputError);
    assert.equal(cache.length, 0);
    m.forward([1, 2, 3], cache);
    assert.equal(cache.length, 3);
    assert.throws(() => m.forward([1, 2], cache), /exceeds the context size/);
  });
});

test("prefill in one batch equals token-by-token decode; logits for several positions", async () => {
  await withModel({ arch: "qwen2", ...small, weightStd: 0.1 }, async (path) => {
    const m = await loadModel(path);
    const toks = [1, 5, 9, 33, 70];
    const batch = m.forward(toks, m.newCache(8), [0, 2, 4]);
    const c = m.newCache(8);
    const step = toks.map((t) => m.forward([t], c)[0]);
    for (const [i, pos] of [0, 2, 4].entries()) {
      let e = 0;
      for (let j = 0; j < batch[i].length; j++) e = Math.max(e, Math.abs(batch[i][j] - step[pos][j]));
      assert.ok(e < 1e-5, `position ${pos}: ${e}`);
    }
  });
});
