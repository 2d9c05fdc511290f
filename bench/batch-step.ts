/**
 * Decode step time of the engine's batched forward (src/engine/batch-forward.ts) for 1, 4 and 8
 * sequences: every sequence holds `ctx` prefilled positions and adds one token per step, the shape
 * of continuous batching at steady state. Prints median wall ms per step and per sequence-token,
 * and the process CPU ms per step (all kernel threads; less sensitive to a loaded machine).
 *   node <outDir>/bench/batch-step.js <file.gguf> [--threads 2] [--ctx 64] [--steps 8] [--seqs 1,4,8]
 */
import { createWasmKernelSet } from "../src/kernels/wasm/wasm-kernel-set.js";
import { loadModel } from "../src/model/index.js";
import { forwardBatch } from "../src/engine/batch-forward.js";
import { median } from "../src/cli/bench/read-ceiling.js";

const args = process.argv.slice(2);
const opt = (name: string, d: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : d;
};
const path = args[0];
if (!path || path.startsWith("--"))
  throw new Error("usage: batch-step.js <file.gguf> [--threads 2] [--ctx 64] [--steps 8] [--seqs 1,4,8]");
const threads = Number(opt("--threads", "2"));
const ctx = Number(opt("--ctx", "64"));
const steps = Number(opt("--steps", "8"));
const seqCounts = opt("--seqs", "1,4,8").split(",").map(Number);

const ks = await createWasmKernelSet({ threads });
try {
  const model = await loadModel(path, { kernels: ks });
  const V = model.config.nVocab;
  console.log(
    `batched decode step: ${path.split("/").pop()}, threads ${threads}, context ${ctx} per sequence, median of ${steps} steps`,
  );
  console.log("| seqs | ms/step | ms/seq-token | CPU ms/step | CPU ms/seq-token |");
  console.log("|------|---------|--------------|-------------|------------------|");
  for (const n of seqCounts) {
    const caches = Array.from({ length: n }, () => model.newCache(ctx + steps + 2));
    forwardBatch(
      model,
      caches.map((cache, s) => ({
        tokens: Array.from({ length: ctx }, (_, t) => 10 + ((t * 31 + s * 7) % (V - 20))),
        cache,
        outputs: [],
      })),
    );
    const ts: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i <= steps; i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      forwardBatch(
        model,
        caches.map((cache, s) => ({ tokens: [10 + ((i * 13 + s) % (V - 20))], cache, outputs: [0] })),
      );
      const c1 = process.cpuUsage(c0);
      if (i > 0) {
        // the first step is a warm-up
        ts.push(performance.now() - t0);
        cpu.push((c1.user + c1.system) / 1000);
      }
    }
    const ms = median(ts);
    const cms = median(cpu);
    console.log(
      `| ${String(n).padStart(4)} | ${ms.toFixed(1).padStart(7)} | ${(ms / n).toFixed(1).padStart(12)} | ${cms.toFixed(1).padStart(11)} | ${(cms / n).toFixed(1).padStart(16)} |`,
    );
  }
} finally {
  await ks.dispose();
}
