/**
 * The paged KV cache in a KernelSet's memory: its row operations equal the dense cache's (f32 and
 * f16); a model loaded with the WASM set gets one from newCache() and runs attention in the set
 * (ks.attentionPaged, counted) on the rows in place, matching the JS attention (f32: float-ulp
 * level; f16: same rows widened exactly) with identical greedy tokens; the WASM paged kernel
 * equals the TS reference on scattered block tables, windows and f16 rows; misuse is a typed error.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../src/errors.js";
import { DenseKVCache } from "../../src/kv/cache.js";
import { PagedKVCache } from "../../src/kv/paged-cache.js";
import { BlockPool } from "../../src/kv/paged-pool.js";
import { writeTestModel } from "../../src/model/factory/index.js";
import { loadModel } from "../../src/model/index.js";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { fp32ToFp16 } from "../../src/quant/f16.js";

let ks: WasmKernelSet;
let dir: string;
before(async () => {
  ks = await createWasmKernelSet({ threads: 2 });
  dir = mkdtempSync(join(tmpdir(), "kcache-"));
});
after(async () => {
  await ks.dispose();
  rmSync(dir, { recursive: true, force: true });
});

for (const dtype of ["f32", "f16"] as const) {
  test(`paged ${dtype} rows in kernel memory: row operations equal the dense cache's`, () => {
    const shape = { nLayers: 2, kWidth: 24, vWidth: 16 };
    const pool = new BlockPool({ ...shape, dtype, blockSize: 2, nBlocks: 4 }, ks);
    const kc = new PagedKVCache(pool, 6);
    assert.ok(kc.reserve(5));
    const dc = new DenseKVCache({ ...shape, capacity: 5, dtype });
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
    }
    const view = kc.kernelView(1)!;
    assert.equal(view.kv.half, dtype === "f16");
    assert.equal(view.kv.k.buffer, ks.alloc(1).buffer, "rows live in WASM memory");
    assert.deepEqual(Array.from(view.kv.table.subarray(0, 3)), kc.blocks.slice(0, 3));
    assert.equal(kc.bytesPerToken(), dc.bytesPerToken());
    assert.throws(() => kc.writeK(0, 6, src, 0), InputError);
    kc.truncate(2);
    assert.equal(kc.length, 2);
  });
}

/** Sink logits for 8 heads (gpt-oss attention sinks). */
const SINKS = Float32Array.from([-3, 40, -40, 0.5, 2, 5, 0, 1]);

test("WASM attentionPaged equals the TS reference: scattered blocks, GQA, windows, f32 and f16", () => {
  const ref = new RefKernelSet();
  const [nHead, nHeadKV, hd, B] = [8, 2, 16, 4];
  const rows = 6 * B;
  const table = Int32Array.from([5, 2, 0, 4, 1, 3]);
  const kf = Float32Array.from({ length: rows * nHeadKV * hd }, (_, i) => Math.sin(i * 0.37));
  const vf = Float32Array.from({ length: rows * nHeadKV * hd }, (_, i) => Math.cos(i * 0.21));
  for (const half of [false, true]) {
    const mk = (src: Float32Array) => {
      if (!half) {
        const a = ks.alloc(src.length);
        a.set(src);
        return a;
      }
      const f = ks.alloc(src.length / 2);
      const u = new Uint16Array(f.buffer, f.byteOffset, src.length);
      for (let i = 0; i < src.length; i++) u[i] = fp32ToFp16(src[i]);
      return u;
    };
    const kv = { k: mk(kf), v: mk(vf), half, table, blockSize: B };
    for (const [nTok, nKV, window] of [
      [1, 21, 0],
      [7, 21, 0],
      [5, 24, 6],
      [1, 3, 0],
    ] as const) {
      const pos0 = nKV - nTok;
      const q = Float32Array.from({ length: nTok * nHead * hd }, (_, i) => Math.sin(i * 0.13 + nKV));
      // gpt-oss sink logits per head: below, near and above the scores (40: the row nearly 0)
      for (const sinks of [undefined, SINKS]) {
        const a = new Float32Array(q.length);
        const b = new Float32Array(q.length);
        ks.attentionPaged(q, kv, a, nTok, nKV, nHead, nHeadKV, hd, pos0, 0.25, window, sinks);
        ref.attentionPaged(q, kv, b, nTok, nKV, nHead, nHeadKV, hd, pos0, 0.25, window, sinks);
        let err = 0;
        for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
        if (sinks) {
          const c = new Float32Array(q.length);
          ks.attentionPaged(q, kv, c, nTok, nKV, nHead, nHeadKV, hd, pos0, 0.25, window);
          // head 1 (sink 40) is scaled to ~0, head 2 (sink -40) keeps its rows
          for (let t = 0; t < nTok; t++)
            for (let i = 0; i < hd; i++) {
              assert.ok(Math.abs(a[(t * nHead + 1) * hd + i]) < 1e-12, "sink 40 empties the row");
              const o = (t * nHead + 2) * hd + i;
              assert.equal(a[o], c[o], "sink -40 changes nothing");
            }
        }
        assert.ok(err < 2e-6, `half=${half} nTok=${nTok} nKV=${nKV} window=${window}: ${err}`);
      }
    }
  }
});

test("WASM model: newCache() is a paged kernel cache read in place by ks.attentionPaged; matches the JS attention", async () => {
  const path = join(dir, "llama.gguf");
  await writeTestModel(path, {
    arch: "llama",
    nEmbd: 128,
    nLayer: 2,
    nHead: 4,
    nHeadKv: 2,
    nFf: 96,
    nCtx: 64,
    nVocab: 300,
    weightStd: 0.15,
  });
  const m = await loadModel(path, { kernels: ks });
  let calls = 0;
  const orig = ks.attentionPaged.bind(ks);
  ks.attentionPaged = (...a: Parameters<typeof orig>) => {
    calls++;
    return orig(...a);
  };
  try {
    for (const dtype of ["f32", "f16"] as const) {
      calls = 0;
      const kc = m.newCache(24, dtype);
      assert.ok(kc instanceof PagedKVCache);
      const jc = m.newCache(24, dtype, "js");
      assert.ok(jc instanceof DenseKVCache);
      const prompt = [1, 17, 250, 3, 99, 42, 7];
      let a = m.forward(prompt, kc)[0];
      const afterPrefill = calls;
      assert.equal(afterPrefill, 2, "one kernel attention per layer");
      let b = m.forward(prompt, jc)[0];
      assert.equal(calls, afterPrefill, "the JS cache does not use the kernel attention");
      let maxErr = 0;
      for (let s = 0; s < 8; s++) {
        for (let i = 0; i < a.length; i++) maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
        const ta = a.indexOf(Math.max(...a));
        assert.equal(ta, b.indexOf(Math.max(...b)), `greedy token at step ${s}`);
        a = m.forward([ta], kc)[0];
        b = m.forward([ta], jc)[0];
      }
      // f16: the JS cache rounds q and p through half as ggml does; the kernel keeps them f32.
      assert.ok(maxErr < (dtype === "f32" ? 1e-4 : 2e-2), `${dtype}: max |kernel - js| = ${maxErr}`);
      assert.equal(kc.length, prompt.length + 8);
    }
  } finally {
    ks.attentionPaged = orig;
  }
});

test("WASM model, MLA (deepseek2): newCache() is a paged cache in kernel memory (latent rows read in place); equals the JS cache", async () => {
  const path = join(dir, "deepseek2.gguf");
  await writeTestModel(path, {
    arch: "deepseek2",
    nEmbd: 64,
    nLayer: 2,
    nHead: 4,
    nHeadKv: 4,
    nFf: 96,
    nCtx: 96,
    nVocab: 300,
    weightStd: 0.15,
    mla: { qLoraRank: 0, kvLoraRank: 32, nopeDim: 16, ropeDim: 8, vDim: 16 },
    moe: { nExpert: 4, nExpertUsed: 2, nFfExp: 16, nShared: 1, leadingDense: 1 },
  });
  const m = await loadModel(path, { kernels: ks });
  for (const dtype of ["f32", "f16"] as const) {
    // Capacity 70 > one 64-row block: the second block's rows are read through the table too.
    const kc = m.newCache(70, dtype);
    assert.ok(kc instanceof PagedKVCache);
    assert.ok(kc.kernelView(0), "MLA latent rows live in kernel memory");
    const jc = m.newCache(70, dtype, "js");
    assert.ok(jc instanceof DenseKVCache);
    const prompt = Array.from({ length: 60 }, (_, i) => (i * 37 + 5) % 300);
    let a = m.forward(prompt, kc)[0];
    let b = m.forward(prompt, jc)[0];
    let maxErr = 0;
    for (let s = 0; s < 8; s++) {
      for (let i = 0; i < a.length; i++) maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
      const ta = a.indexOf(Math.max(...a));
      assert.equal(ta, b.indexOf(Math.max(...b)), `greedy token at step ${s}`);
      a = m.forward([ta], kc)[0];
      b = m.forward([ta], jc)[0];
    }
    // Same arithmetic as blocks/attention.ts attend on either cache.
    assert.ok(maxErr <= 1e-6, `${dtype}: max |paged - js| = ${maxErr}`);
    assert.equal(kc.length, prompt.length + 8);
  }
});

test("a kernel cache needs a model loaded with kernels", async () => {
  const path = join(dir, "plain.gguf");
  await writeTestModel(path, {
    arch: "llama",
    nEmbd: 64,
    nLayer: 1,
    nHead: 2,
    nHeadKv: 1,
    nFf: 64,
    nCtx: 32,
    nVocab: 300,
  });
  const m = await loadModel(path);
  assert.ok(m.newCache(8) instanceof DenseKVCache);
  assert.throws(() => m.newCache(8, "f32", "kernel"), InputError);
});
