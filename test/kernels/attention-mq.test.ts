/**
 * Multi-query paged attention (kernels-src/assembly/attention.ts, attention_q.ts): a call with
 * several query rows of one sequence serves them in one pass over the cached K/V, and each row's
 * result must be bit for bit what that row gives alone as a one-token decode step at its position
 * (the per-row order is kept: speculative verification and prefill then agree with decoding), the
 * same on 1 and 2 threads, and within 2e-5 of the TypeScript reference. Covered: causal edges
 * (positions from 0, chunk and cache-block boundaries, blocks of 5 and 16 rows in a scattered
 * table), GQA ratios 1, 3 and 8, head widths 7 / 12 / 32 / 64 / 128, sliding windows that cut
 * inside a token block, every KV type (f32, f16, q8_0, q4_0) and mixed K/V types.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { allocKVStore, storeRow, type KVType } from "../../src/kv/quant-kv.js";
import { rng } from "./helpers.js";

let ks1: WasmKernelSet;
let ks2: WasmKernelSet;
before(async () => {
  ks1 = await createWasmKernelSet({ threads: 1 });
  ks2 = await createWasmKernelSet({ threads: 2 });
});
after(async () => {
  await ks1.dispose();
  await ks2.dispose();
});

/** [nHead, nHeadKV, hd]: G = 1, 3, 8, 1; hd 12 (vector tail) and 7 (scalar path) for f32 only. */
const SHAPES: [number, number, number][] = [
  [4, 4, 32],
  [6, 2, 32],
  [32, 4, 64],
  [2, 2, 128],
  [5, 5, 12],
  [4, 2, 7],
];
/** [nTok, pos0, window]: rows from position 0, mid-sequence batches, windows cutting a block. */
const CALLS: [number, number, number][] = [
  [9, 0, 0],
  [3, 2, 0],
  [1, 57, 0],
  [5, 95, 0],
  [9, 91, 0],
  [7, 0, 3],
  [12, 30, 8],
  [33, 200, 19],
  [33, 200, 0],
];

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function run(t: KVType, tv: KVType = t): void {
  const ref = new RefKernelSet();
  const r = rng(t.length * 7 + t.charCodeAt(1) + tv.charCodeAt(1) * 13);
  const quant = (x: KVType) => x === "q8_0" || x === "q4_0";
  for (const [nHead, nHeadKV, hd] of SHAPES) {
    if ((quant(t) || quant(tv)) && hd % 32 !== 0) continue;
    if ((t === "f16" || tv === "f16") && hd % 4 !== 0) continue;
    for (const B of [16, 5]) {
      for (const [nTok, p0, window] of CALLS) {
        const nKV = p0 + nTok;
        const W = nHeadKV * hd;
        const nBlocks = Math.ceil(nKV / B);
        const table = Int32Array.from({ length: nBlocks }, (_, i) => (i * 7 + 3) % nBlocks);
        const rows = nBlocks * B;
        const kvs = [ks1, ks2].map((ks) => {
          const k = allocKVStore(t, rows, W, ks);
          const v = allocKVStore(tv, rows, W, ks);
          return { k, v, half: t === "f16" && tv === "f16", kType: t, vType: tv, table, blockSize: B };
        });
        const src = new Float32Array(W);
        for (let row = 0; row < rows; row++) {
          for (let i = 0; i < W; i++) src[i] = (r() * 2 - 1) * 2;
          for (const kv of kvs) storeRow(t, kv.k, row, W, src, 0);
          for (let i = 0; i < W; i++) src[i] = r() * 2 - 1;
          for (const kv of kvs) storeRow(tv, kv.v, row, W, src, 0);
        }
        const q = Float32Array.from({ length: nTok * nHead * hd }, () => (r() * 2 - 1) * 3);
        const scale = 1 / Math.sqrt(hd);
        const what = `${t}/${tv} ${nHead}/${nHeadKV}x${hd} B${B} nTok ${nTok} pos0 ${p0} window ${window}`;
        const o1 = new Float32Array(q.length);
        const o2 = new Float32Array(q.length);
        ks1.attentionPaged(q, kvs[0], o1, nTok, nKV, nHead, nHeadKV, hd, p0, scale, window);
        ks2.attentionPaged(q, kvs[1], o2, nTok, nKV, nHead, nHeadKV, hd, p0, scale, window);
        assert.ok(bitsEqual(o1, o2), `1 vs 2 threads: ${what}`);
        const oRef = new Float32Array(q.length);
        ref.attentionPaged(q, kvs[0], oRef, nTok, nKV, nHead, nHeadKV, hd, p0, scale, window);
        let err = 0;
        for (let i = 0; i < q.length; i++) err = Math.max(err, Math.abs(o1[i] - oRef[i]));
        assert.ok(err < 2e-5, `vs reference ${err}: ${what}`);
        // Each row alone, as a decode step at its position, gives the same bits.
        const n = nHead * hd;
        const one = new Float32Array(n);
        for (let tok = 0; tok < nTok; tok++) {
          const qt = q.subarray(tok * n, (tok + 1) * n);
          ks1.attentionPaged(qt, kvs[0], one, 1, p0 + tok + 1, nHead, nHeadKV, hd, p0 + tok, scale, window);
          assert.ok(bitsEqual(one, o1.subarray(tok * n, (tok + 1) * n)), `row ${tok} alone: ${what}`);
        }
      }
    }
  }
}

for (const t of ["f32", "f16", "q8_0", "q4_0"] as const)
  test(`paged attention, ${t} KV: several rows in one call = each row alone (bits), 1 = 2 threads, ~ reference`, () =>
    run(t));

test("paged attention, mixed K/V types (q8_0/f16, f16/q4_0, q4_0/q8_0, f32/q8_0): the same three checks", () => {
  const pairs: [KVType, KVType][] = [
    ["q8_0", "f16"],
    ["f16", "q4_0"],
    ["q4_0", "q8_0"],
    ["f32", "q8_0"],
  ];
  for (const [kt, vt] of pairs) run(kt, vt);
});
