/**
 * LoRA decode overhead in one process (issue 21): the model loads once with the adapter, then
 * blocks of `block` greedy decode steps alternate without (A) and with (B) the adapter in ABBA
 * order for `rounds` rounds, each block on its own fresh KV cache after the same prompt. Prints the
 * median ms/token of each side and the overhead; in-process alternation cancels most of the
 * machine's drift (the process-level `edgellm bench --lora --vs-base` reloads every run). Also
 * printed: the median of the per-round ratios (each round's two LoRA blocks over its two base
 * blocks), which a slow stretch of the machine moves less than the two medians apart.
 *   node dist/bench/lora-overhead.js <model.gguf> <adapter.gguf> [threads=2] [rounds=6] [block=8] [prompt=16]
 */
import { enableRelaxedSimd } from "../src/platform/relaxed-simd-node.js";
import { createWasmKernelSet } from "../src/kernels/wasm/wasm-kernel-set.js";
import { loadLoraAdapter, loadModel } from "../src/model/index.js";
import type { LoraRef } from "../src/model/lora.js";

const [path, adapterPath, thr = "2", rs = "6", bs = "8", ps = "16"] = process.argv.slice(2);
if (!path || !adapterPath) {
  console.error("usage: lora-overhead.js <model.gguf> <adapter.gguf> [threads] [rounds] [block] [prompt]");
  process.exit(2);
}
const threads = Number(thr);
const rounds = Number(rs);
const block = Number(bs);

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
}

enableRelaxedSimd(); // as the CLI does (Node 20: V8 flags set in-process)
const ks = await createWasmKernelSet({ threads });
const m = await loadModel(path, { kernels: ks });
const adapter = await loadLoraAdapter(adapterPath, m, "a");
const refs: LoraRef[] = [{ adapter, scale: 1 }];
const prompt = Array.from({ length: Number(ps) }, (_, i) => (300 + ((i * 37) % 1000)) % m.config.nVocab);

/** ms per decode step over one block. */
function run(lora: LoraRef[] | undefined): number {
  const cache = m.newCache(prompt.length + block + 1);
  let tok = argmax(m.forward(prompt, cache, undefined, { lora })[0]);
  const t0 = performance.now();
  for (let i = 0; i < block; i++) tok = argmax(m.forward([tok], cache, undefined, { lora })[0]);
  return (performance.now() - t0) / block;
}

run(undefined);
run(refs); // warm-up
const a: number[] = [];
const b: number[] = [];
for (let r = 0; r < rounds; r++) {
  a.push(run(undefined));
  b.push(run(refs));
  b.push(run(refs));
  a.push(run(undefined));
}
const med = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1];
const ma = med(a);
const mb = med(b);
console.log(
  `${ks.name} x${threads}, ${rounds} ABBA rounds of ${block} decode steps after ${prompt.length} prompt tokens`,
);
console.log(`base ${ma.toPrecision(3)} ms/token (${a.map((x) => x.toPrecision(3)).join(" ")})`);
console.log(`LoRA ${mb.toPrecision(3)} ms/token (${b.map((x) => x.toPrecision(3)).join(" ")})`);
console.log(`overhead ${((100 * (mb - ma)) / ma).toFixed(1)}% (medians)`);
// Paired: each ABBA round's LoRA time over its own base time (drift within a round cancels).
const ratios = Array.from(
  { length: rounds },
  (_, r) => (b[2 * r] + b[2 * r + 1]) / (a[2 * r] + a[2 * r + 1]),
);
console.log(
  `overhead ${(100 * (med(ratios) - 1)).toFixed(1)}% (median of per-round ratios: ${ratios.map((x) => (100 * (x - 1)).toFixed(1)).join(" ")})`,
);
await ks.dispose();
process.exit(0);
