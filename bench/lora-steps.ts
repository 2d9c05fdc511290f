/**
 * LoRA decode overhead step by step (issue 21): two sequences after the same prompt, one without
 * and one with the adapter, decoded in turns (base then LoRA, then LoRA then base, ...), so the
 * two steps of a pair run within a step of each other at the same position. Prints the median of
 * the per-pair ratios (a slow stretch of a shared machine hits both steps of a pair), its
 * quartiles, and each side's median. `segments` restarts both sequences (fresh caches) that many
 * times, `steps` pairs each; the first segment's first 4 pairs are warm-up. lora-overhead.ts
 * alternates whole blocks instead (ABBA), which a noisy machine moves more.
 *   node dist/bench/lora-steps.js <model.gguf> <adapter.gguf> [threads=2] [segments=4] [steps=48] [prompt=16]
 */
import { enableRelaxedSimd } from "../src/platform/relaxed-simd-node.js";
import { createWasmKernelSet } from "../src/kernels/wasm/wasm-kernel-set.js";
import { loadLoraAdapter, loadModel } from "../src/model/index.js";
import type { LoraRef } from "../src/model/lora.js";

const [path, adapterPath, thr = "2", sg = "4", st = "48", ps = "16"] = process.argv.slice(2);
if (!path || !adapterPath) {
  console.error("usage: lora-steps.js <model.gguf> <adapter.gguf> [threads] [segments] [steps] [prompt]");
  process.exit(2);
}
const [segments, steps] = [Number(sg), Number(st)];

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
}

enableRelaxedSimd(); // as the CLI does (Node 20: V8 flags set in-process)
const ks = await createWasmKernelSet({ threads: Number(thr) });
const m = await loadModel(path, { kernels: ks });
const adapter = await loadLoraAdapter(adapterPath, m, "a");
const refs: LoraRef[] = [{ adapter, scale: 1 }];
const prompt = Array.from({ length: Number(ps) }, (_, i) => (300 + ((i * 37) % 1000)) % m.config.nVocab);

const base: number[] = [];
const lora: number[] = [];
for (let s = 0; s < segments; s++) {
  const side = [undefined, refs].map((l) => {
    const cache = m.newCache(prompt.length + steps + 1);
    return { l, cache, tok: argmax(m.forward(prompt, cache, undefined, { lora: l })[0]) };
  });
  for (let i = 0; i < steps; i++) {
    const t: number[] = [0, 0];
    for (const k of i % 2 ? [1, 0] : [0, 1]) {
      const x = side[k]!;
      const t0 = performance.now();
      x.tok = argmax(m.forward([x.tok], x.cache, undefined, { lora: x.l })[0]);
      t[k] = performance.now() - t0;
    }
    if (s > 0 || i >= 4) {
      base.push(t[0]!);
      lora.push(t[1]!);
    }
  }
}
const q = (v: number[], p: number) => [...v].sort((x, y) => x - y)[Math.floor(p * (v.length - 1))]!;
const ratios = base.map((b, i) => lora[i]! / b);
const pct = (r: number) => `${(100 * (r - 1)).toFixed(1)}%`;
console.log(`${ks.name} x${thr}, ${segments} x ${steps} step pairs after ${prompt.length} prompt tokens`);
console.log(`base median ${q(base, 0.5).toFixed(2)} ms/step, LoRA median ${q(lora, 0.5).toFixed(2)} ms/step`);
console.log(
  `overhead ${pct(q(ratios, 0.5))} (median of ${ratios.length} per-pair ratios; quartiles ${pct(q(ratios, 0.25))} .. ${pct(q(ratios, 0.75))}), ${pct(q(lora, 0.5) / q(base, 0.5))} (medians)`,
);
await ks.dispose();
process.exit(0);
