// Whole training steps of the default model's shape (952k parameters: 4 layers x 128, 4 heads,
// SwiGLU 384, vocab 773) through the data-parallel shards, as `edgellm train` runs them:
// median of 7 steps after one warm-up, tokens per second.
//   node scripts/train-step-bench.mjs [T=1024] [threads=2] [B=4] [distDir=dist]
// To compare two builds of the training kernels, swap build/kernels/train.wasm between runs.
import path from "node:path";
import { pathToFileURL } from "node:url";
const dist = path.resolve(process.argv[5] ?? "dist");
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { ShardedModel } = await imp("src/train/parallel/sharded.js");
const { initParams } = await imp("src/train/model/params.js");
const { Rng } = await imp("src/sampling/rng.js");
const T = Number(process.argv[2] ?? 1024);
const threads = Number(process.argv[3] ?? 2);
const B = Number(process.argv[4] ?? 4);
const cfg = { vocab: 773, dim: 128, layers: 4, heads: 4, kvHeads: 4, ffn: 384, ctx: T, ropeBase: 10000, normEps: 1e-5, tied: true };
const rng = new Rng(1);
const tokens = Int32Array.from({ length: B * T }, () => Math.floor(rng.uniform() * cfg.vocab));
const targets = Int32Array.from({ length: B * T }, () => Math.floor(rng.uniform() * cfg.vocab));
const batch = { tokens, targets, mask: new Uint8Array(B * T).fill(1), count: B * T };
const sm = await ShardedModel.create(cfg, B, T, { threads });
initParams(sm.params, sm.layout, cfg, new Rng(7));
await sm.step(batch);
const times = [];
for (let r = 0; r < 7; r++) { const t0 = performance.now(); await sm.step(batch); times.push(performance.now() - t0); }
times.sort((a, b) => a - b);
const med = times[3];
console.log(`B ${B} T ${T}, ${threads} thread(s): median ${med.toFixed(0)} ms/step, ${Math.round(B * T / med * 1000)} tok/s`);
await sm.close();
