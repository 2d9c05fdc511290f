/**
 * Quantized KV rows (kv/quant-kv.ts): Q8_0/Q4_0 rows are llama.cpp's blocks (byte-equal to the
 * quant/ references), bytes per token per type; the WASM kernel attention_paged_q equals the TS
 * reference (q quantized to Q8_0 for quantized K, as ggml's flash attention) on scattered block
 * tables, GQA, windows and every K/V type pair; a model with q8_0/q4_0 caches generates through
 * the engine with the kernel counted.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import {
  allocKVStore,
  kvRowBytes,
  loadRow,
  parseKVType,
  storeRow,
  KV_TYPES,
  type KVType,
} from "../../src/kv/quant-kv.js";
import { kvBytesPerToken } from "../../src/kv/cache.js";
import { quantizeRowQ4_0, dequantizeRowQ4_0 } from "../../src/quant/q4_0.js";
import { InputError } from "../../src/errors.js";

let ks: WasmKernelSet;
before(async () => {
  ks = await createWasmKernelSet({ threads: 2 });
});
after(async () => {
  await ks.dispose();
});

/** Sink logits for 8 heads (gpt-oss attention sinks). */
const SINKS = Float32Array.from([-3, 40, -40, 0.5, 2, 5, 0, 1]);

test("bytes per token per KV type (llama 16 layers x 8 KV heads x 64: llama.cpp's figures)", () => {
  const s = { nLayers: 16, kWidth: 512, vWidth: 512 };
  const bpt = (t: KVType) => kvBytesPerToken({ ...s, dtype: t });
  assert.equal(bpt("f32"), 65536);
  assert.equal(bpt("f16"), 32768);
  assert.equal(bpt("q8_0"), 17408);
  assert.equal(bpt("q4_0"), 9216);
  assert.ok(bpt("q8_0") / bpt("f32") <= 0.27);
  assert.equal(kvBytesPerToken({ ...s, dtype: "q8_0", dtypeV: "f16" }), 16 * (544 + 1024));
  assert.equal(parseKVType("Q8_0"), "q8_0");
  assert.throws(() => parseKVType("q5_k"), InputError);
});

test("rows round-trip: f32 exact, f16/q8_0/q4_0 within their step; q4_0 bytes equal the reference quantizer", () => {
  const W = 96;
  const src = Float32Array.from({ length: 3 * W }, (_, i) => Math.sin(i * 0.7) * (1 + (i % 5)));
  for (const t of KV_TYPES) {
    const st = allocKVStore(t, 3, W);
    for (let r = 0; r < 3; r++) storeRow(t, st, r, W, src, r * W);
    const back = new Float32Array(W);
    loadRow(t, st, 1, W, 0, back, 0, W);
    const tol = { f32: 0, f16: 5e-3, q8_0: 5 / 127, q4_0: 5 / 7 }[t];
    for (let i = 0; i < W; i++) assert.ok(Math.abs(back[i] - src[W + i]) <= tol * 1.01, `${t} ${i}`);
    // A part of a row (unaligned) equals the same slice of the whole row.
    const part = new Float32Array(10);
    loadRow(t, st, 1, W, 37, part, 0, 10);
    assert.deepEqual(Array.from(part), Array.from(back.subarray(37, 47)));
    assert.equal(st.length * (t === "f32" ? 4 : t === "f16" ? 2 : 1), 3 * kvRowBytes(t, W));
  }
  const st = allocKVStore("q4_0", 1, W) as Uint8Array;
  storeRow("q4_0", st, 0, W, src, 0);
  const ref = new Uint8Array(kvRowBytes("q4_0", W));
  quantizeRowQ4_0(src, 0, ref, 0, W);
  assert.deepEqual(st, ref);
  const d = new Float32Array(W);
  dequantizeRowQ4_0(ref, 0, d, 0, W);
  const back = new Float32Array(W);
  loadRow("q4_0", st, 0, W, 0, back, 0, W);
  assert.deepEqual(back, d);
});

test("WASM attention_paged_q equals the TS reference: every K/V type pair, scattered blocks, GQA, windows", () => {
  const ref = new RefKernelSet();
  const [nHead, nHeadKV, hd, B] = [6, 2, 64, 4];
  const rows = 6 * B;
  const W = nHeadKV * hd;
  const table = Int32Array.from([5, 2, 0, 4, 1, 3]);
  const kf = Float32Array.from({ length: rows * W }, (_, i) => Math.sin(i * 0.37) * 2);
  const vf = Float32Array.from({ length: rows * W }, (_, i) => Math.cos(i * 0.21));
  const pairs: [KVType, KVType][] = [
    ["q8_0", "q8_0"],
    ["q4_0", "q4_0"],
    ["q8_0", "f16"],
    ["f16", "q8_0"],
    ["q4_0", "q8_0"],
    ["f32", "q4_0"],
    ["f16", "f32"],
  ];
  for (const [kt, vt] of pairs) {
    const mk = (t: KVType, src: Float32Array) => {
      const st = allocKVStore(t, rows, W, ks);
      for (let r = 0; r < rows; r++) storeRow(t, st, r, W, src, r * W);
      return st;
    };
    const kv = { k: mk(kt, kf), v: mk(vt, vf), half: false, kType: kt, vType: vt, table, blockSize: B };
    for (const [nTok, nKV, window] of [
      [1, 21, 0],
      [7, 21, 0],
      [5, 24, 6],
      [1, 1, 0],
    ] as const) {
      const pos0 = nKV - nTok;
      const q = Float32Array.from({ length: nTok * nHead * hd }, (_, i) => Math.sin(i * 0.13 + nKV));
      // gpt-oss sink logits per head: below, near and above the scores (40: the row nearly 0)
      for (const sinks of [undefined, SINKS]) {
        const a = new Float32Array(q.length);
        const b = new Float32Array(q.length);
        ks.attentionPaged(q, kv, a, nTok, nKV, nHead, nHeadKV, hd, pos0, 0.125, window, sinks);
        ref.attentionPaged(q, kv, b, nTok, nKV, nHead, nHeadKV, hd, pos0, 0.125, window, sinks);
        let err = 0;
        for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
        if (sinks) {
          const c = new Float32Array(q.length);
          ks.attentionPaged(q, kv, c, nTok, nKV, nHead, nHeadKV, hd, pos0, 0.125, window);
          // head 1 (sink 40) is scaled to ~0, head 2 (sink -40) keeps its rows
          for (let t = 0; t < nTok; t++)
            for (let i = 0; i < hd; i++) {
              assert.ok(Math.abs(a[(t * nHead + 1) * hd + i]) < 1e-12, "sink 40 empties the row");
              const o = (t * nHead + 2) * hd + i;
              assert.equal(a[o], c[o], "sink -40 changes nothing");
            }
        }
        assert.ok(err < 2e-5, `${kt}/${vt} nTok=${nTok} nKV=${nKV} window=${window}: ${err}`);
      }
    }
  }
});
