/**
 * KernelKVCache: K/V rows in a KernelSet's memory. Its row operations equal the dense F32 cache's;
 * a model loaded with the WASM set gets it from newCache() (f32) and then runs attention in the set
 * (ks.attention, counted), matching the exact JS attention to float-ulp level on F32 weights with
 * identical greedy tokens; misuse is a typed error.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../src/errors.js";
import { DenseKVCache } from "../../src/kv/cache.js";
import { KernelKVCache } from "../../src/kv/kernel-cache.js";
import { writeTestModel } from "../../src/model/factory/index.js";
import { loadModel } from "../../src/model/index.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";

let ks: WasmKernelSet;
let dir: string;
before(async () => {
  ks = await createWasmKernelSet({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), "kcache-"));
});
after(async () => {
  await ks.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("row operations equal the dense f32 cache's; rows live in kernel memory", () => {
  const shape = { nLayers: 2, kWidth: 24, vWidth: 16, capacity: 5 };
  const kc = new KernelKVCache(ks, shape);
  const dc = new DenseKVCache({ ...shape, dtype: "f32" });
  const src = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7) * 3);
  for (const c of [kc, dc]) {
    for (let p = 0; p < 5; p++) {
      c.writeK(1, p, src, p * 3);
      c.writeV(1, p, src, 40 - p);
    }
    c.setLength(5);
  }
  const q = Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1);
  for (let p = 0; p < 5; p++) {
    assert.equal(kc.dotK(1, p, 4, q, 2, 12), dc.dotK(1, p, 4, q, 2, 12));
    const a = new Float32Array(16);
    const b = new Float32Array(16);
    kc.addV(1, p, 0, 0.3, a, 0, 16);
    dc.addV(1, p, 0, 0.3, b, 0, 16);
    assert.deepEqual(a, b);
    kc.readRow("k", 1, p, 0, a, 0, 16);
    dc.readRow!("k", 1, p, 0, b, 0, 16);
    assert.deepEqual(a, b);
  }
  const view = kc.kernelView(1)!;
  assert.equal(view.k.length, 5 * 24);
  assert.deepEqual(Array.from(view.v.subarray(16, 32)), Array.from(src.subarray(39, 55)));
  assert.equal(kc.bytesPerToken(), dc.bytesPerToken());
  assert.throws(() => kc.writeK(0, 5, src, 0), InputError);
  assert.throws(() => kc.setLength(6), InputError);
  kc.truncate(2);
  assert.equal(kc.length, 2);
});

test("WASM model: newCache() keeps KV in kernel memory and uses ks.attention; matches the JS attention", async () => {
  const path = join(dir, "llama.gguf");
  await writeTestModel(path, { arch: "llama", nEmbd: 128, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 96, nCtx: 64, nVocab: 300, weightStd: 0.15 });
  const m = await loadModel(path, { kernels: ks });
  let calls = 0;
  const orig = ks.attention.bind(ks);
  ks.attention = (...a: Parameters<typeof orig>) => {
    calls++;
    return orig(...a);
  };
  try {
    const kc = m.newCache(24);
    assert.ok(kc instanceof KernelKVCache);
    const jc = m.newCache(24, "f32", "js");
    assert.ok(jc instanceof DenseKVCache);
    assert.ok(m.newCache(24, "f16") instanceof DenseKVCache, "f16 stays on the exact JS cache");
    assert.throws(() => m.newCache(24, "f16", "kernel"), InputError);

    const prompt = [1, 17, 250, 3, 99, 42, 7];
    let a = m.forward(prompt, kc)[0];
    const afterPrefill = calls;
    assert.equal(afterPrefill, 2, "one kernel attention per layer");
    let b = m.forward(prompt, jc)[0];
    assert.equal(calls, afterPrefill, "the JS cache does not use ks.attention");
    let maxErr = 0;
    for (let s = 0; s < 8; s++) {
      for (let i = 0; i < a.length; i++) maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
      const ta = a.indexOf(Math.max(...a));
      assert.equal(ta, b.indexOf(Math.max(...b)), `greedy token at step ${s}`);
      a = m.forward([ta], kc)[0];
      b = m.forward([ta], jc)[0];
    }
    assert.ok(maxErr < 1e-4, `max |kernel - js| = ${maxErr}`);
    assert.equal(kc.length, prompt.length + 8);
  } finally {
    ks.attention = orig;
  }
});

test("a kernel cache needs a model loaded with kernels", async () => {
  const path = join(dir, "plain.gguf");
  await writeTestModel(path, { arch: "llama", nEmbd: 64, nLayer: 1, nHead: 2, nHeadKv: 1, nFf: 64, nCtx: 32, nVocab: 300 });
  const m = await loadModel(path);
  assert.ok(m.newCache(8) instanceof DenseKVCache);
  assert.throws(() => m.newCache(8, "f32", "kernel"), InputError);
});
