/**
 * The decode attention kernel alone by KV type: one token against `ctx` cached positions of a
 * paged cache (blocks of 16, scattered), every K/V type, interleaved, best (min) time of many
 * calls per type — the part of decode the KV type changes, without the weights' matmuls.
 *   node dist/bench/attention-kv.js [--ctx 1024] [--hd 64] [--heads 8] [--kv-heads 8] [--iters 200]
 */
import { createWasmKernelSet } from "../src/kernels/wasm/wasm-kernel-set.js";
import { allocKVStore, storeRow, type KVType } from "../src/kv/quant-kv.js";

const args = process.argv.slice(2);
const opt = (name: string, d: string) => {
  const i = args.indexOf(name);
  return Number(i >= 0 ? args[i + 1] : d);
};
const ctx = opt("--ctx", "1024");
const hd = opt("--hd", "64");
const nHead = opt("--heads", "8");
const nHeadKV = opt("--kv-heads", "8");
const iters = opt("--iters", "200");
const B = 16;
const nBlocks = Math.ceil(ctx / B);
const rows = nBlocks * B;
const W = nHeadKV * hd;
const types: KVType[] = ["f32", "f16", "q8_0", "q4_0"];

const ks = await createWasmKernelSet({ threads: 1 });
try {
  // Blocks in reverse order (a paged cache's table is not the identity).
  const table = Int32Array.from({ length: nBlocks }, (_, i) => nBlocks - 1 - i);
  const src = Float32Array.from({ length: W }, (_, i) => Math.sin(i * 0.37));
  const kvs = types.map((t) => {
    const k = allocKVStore(t, rows, W, ks);
    const v = allocKVStore(t, rows, W, ks);
    for (let r = 0; r < rows; r++) {
      src[r % W] = Math.cos(r);
      storeRow(t, k, r, W, src, 0);
      storeRow(t, v, r, W, src, 0);
    }
    return { k, v, half: t === "f16", kType: t, vType: t, table, blockSize: B };
  });
  const q = Float32Array.from({ length: nHead * hd }, (_, i) => Math.sin(i * 0.13));
  const out = new Float32Array(q.length);
  const best = types.map(() => Infinity);
  for (let it = 0; it < iters; it++) {
    types.forEach((_, i) => {
      const t0 = performance.now();
      ks.attentionPaged(q, kvs[i], out, 1, ctx, nHead, nHeadKV, hd, ctx - 1, 1 / Math.sqrt(hd), 0);
      best[i] = Math.min(best[i], performance.now() - t0);
    });
  }
  console.log(
    `decode attention, ${ctx} positions, ${nHead}/${nHeadKV} heads of ${hd}, 1 thread, best of ${iters}`,
  );
  types.forEach((t, i) =>
    console.log(
      `  ${t.padEnd(5)} ${(best[i] * 1000).toFixed(1).padStart(8)} us  x${(best[1] / best[i]).toFixed(2)} speed of f16`,
    ),
  );
} finally {
  await ks.dispose();
}
