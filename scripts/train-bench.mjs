// Training step speed: forward + backward of one (B, T) batch, plain-TS matmuls vs the WASM SIMD
// kernels, on the same config and the same weights; also reports max |grad difference|.
//   node scripts/train-bench.mjs [distDir=dist] [B=4] [T=256]
import path from "node:path";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.argv[2] ?? "dist");
const B = Number(process.argv[3] ?? 4);
const T = Number(process.argv[4] ?? 256);
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { LlamaTrainModel } = await imp("src/train/model/llama.js");
const { initParams } = await imp("src/train/model/params.js");
const { Rng } = await imp("src/sampling/rng.js");
const { compileTrainModule, createTrainMemory, instantiateTrain } = await imp("src/train/wasm/module.js");
const { WasmArena } = await imp("src/train/wasm/arena.js");
const { wasmKernels } = await imp("src/train/wasm/kernels.js");

// ~1.9M parameters, the round-1 measurement's size class
const cfg = {
  vocab: 2048,
  dim: 192,
  layers: 4,
  heads: 6,
  kvHeads: 2,
  ffn: 512,
  ctx: T,
  ropeBase: 10000,
  normEps: 1e-5,
  tied: true,
};
const rng = new Rng(1);
const tokens = Int32Array.from({ length: B * T }, () => Math.floor(rng.uniform() * cfg.vocab));
const targets = Int32Array.from({ length: B * T }, () => Math.floor(rng.uniform() * cfg.vocab));
const mask = new Uint8Array(B * T).fill(1);

const mod = await compileTrainModule();
const mem = createTrainMemory();
const k = instantiateTrain(mod, mem);
const arena = new WasmArena(mem, 1024);
const fast = new LlamaTrainModel(cfg, B, T, arena.alloc, undefined, wasmKernels(k, mem));
initParams(fast.params, fast.layout, cfg, new Rng(7));
const ref = new LlamaTrainModel(cfg, B, T, Float32Array, Float32Array.from(fast.params));
console.log(`params ${fast.layout.total}, batch ${B}x${T}`);

// CPU seconds (all threads of this process) as well as wall seconds: on a machine shared with
// other work the wall figures swing with the load, tokens per CPU-second much less.
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function time(m, reps) {
  let f = 0,
    b = 0,
    loss = 0;
  const c0 = cpu();
  for (let r = 0; r < reps; r++) {
    m.zeroGrad();
    const t0 = performance.now();
    loss = m.forward(tokens, targets, mask);
    const t1 = performance.now();
    m.backward();
    const t2 = performance.now();
    f += t1 - t0;
    b += t2 - t1;
  }
  return { fwd: f / reps / 1000, bwd: b / reps / 1000, loss, cpu: (cpu() - c0) / reps };
}
const rf = time(fast, 3);
console.log(
  `wasm: forward ${rf.fwd.toFixed(3)} s, backward ${rf.bwd.toFixed(3)} s, ${Math.round((B * T) / (rf.fwd + rf.bwd))} tok/s, ${Math.round((B * T) / rf.cpu)} tok/CPU-s, loss ${rf.loss}`,
);
if (process.env.SKIP_REF !== "1") {
  const rr = time(ref, 1);
  console.log(
    `ts:   forward ${rr.fwd.toFixed(3)} s, backward ${rr.bwd.toFixed(3)} s, ${Math.round((B * T) / (rr.fwd + rr.bwd))} tok/s, ${Math.round((B * T) / rr.cpu)} tok/CPU-s, loss ${rr.loss}`,
  );
  let md = 0,
    mg = 0;
  for (let i = 0; i < ref.grads.length; i++) {
    md = Math.max(md, Math.abs(ref.grads[i] - fast.grads[i]));
    mg = Math.max(mg, Math.abs(ref.grads[i]));
  }
  console.log(
    `max |grad diff| ${md.toExponential(2)} (max |grad| ${mg.toExponential(2)}), speedup ${((rr.fwd + rr.bwd) / (rf.fwd + rf.bwd)).toFixed(1)}x`,
  );
}

// Whole training step (forward + backward + gradient reduction) through the data-parallel shards
const { ShardedModel } = await imp("src/train/parallel/sharded.js");
const batch = { tokens, targets, mask, count: B * T };
for (const threads of [1, 2]) {
  const sm = await ShardedModel.create(cfg, B, T, { threads });
  sm.params.set(fast.params);
  await sm.step(batch);
  const reps = 3;
  const t0 = performance.now();
  const c0 = cpu();
  let loss = 0;
  for (let r = 0; r < reps; r++) loss = await sm.step(batch);
  const s = (performance.now() - t0) / 1000 / reps;
  const cs = (cpu() - c0) / reps;
  console.log(
    `wasm shards, ${threads} thread(s): ${s.toFixed(3)} s/step, ${Math.round((B * T) / s)} tok/s, ${Math.round((B * T) / cs)} tok/CPU-s, loss ${loss}`,
  );
  await sm.close();
}
