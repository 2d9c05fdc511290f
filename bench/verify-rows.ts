/**
 * Cost of a speculative verify step: one forwardBatch call of k rows of one sequence after `ctx`
 * cached positions (the rows are then dropped again), for each k and ctx; median wall µs per call
 * over rounds, and from one profiled round the attention op's µs per call. Shows how much each
 * extra verified row adds (attention serves all k rows in one pass over K/V:
 * kernels-src/assembly/attention.ts).
 *   node dist/bench/verify-rows.js [model.gguf] [--threads 1] [--ctx 100,1000] [--rows 1,5,9]
 *     [--reps 200] [--rounds 5] [--kv-type f32]
 */
import { createWasmKernelSet } from "../src/kernels/wasm/wasm-kernel-set.js";
import { loadModel } from "../src/model/index.js";
import { OpProfiler } from "../src/model/forward.js";
import { forwardBatch } from "../src/engine/batch-forward.js";
import { median } from "../src/cli/bench/read-ceiling.js";
import { resolveModelPath } from "../src/cli/default-model.js";
import type { KVDType } from "../src/kv/cache.js";

const args = process.argv.slice(2);
const opt = (name: string, d: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : d;
};
const path = resolveModelPath(args[0] && !args[0].startsWith("--") ? args[0] : undefined);
const threads = Number(opt("--threads", "1"));
const ctxs = opt("--ctx", "100,1000").split(",").map(Number);
const rowCounts = opt("--rows", "1,5,9").split(",").map(Number);
const reps = Number(opt("--reps", "200"));
const rounds = Number(opt("--rounds", "5"));
const kvType = opt("--kv-type", "f32") as KVDType;

const ks = await createWasmKernelSet({ threads });
try {
  const model = await loadModel(path, { kernels: ks });
  const V = model.config.nVocab;
  const tok = (i: number) => 10 + ((i * 31) % (V - 20));
  const maxRows = Math.max(...rowCounts);
  const caches = ctxs.map((ctx) => {
    const cache = model.newCache(ctx + maxRows, kvType);
    forwardBatch(model, [{ tokens: Array.from({ length: ctx }, (_, t) => tok(t)), cache, outputs: [] }]);
    return cache;
  });
  const times = new Map<string, number[]>();
  const attn = new Map<string, number>();
  for (let round = 0; round <= rounds; round++) {
    // The last round is profiled (per-op timers add a little to every call).
    const prof = round === rounds ? new OpProfiler() : undefined;
    model.profiler = prof;
    ctxs.forEach((ctx, ci) => {
      const cache = caches[ci];
      for (const k of rowCounts) {
        const outputs = Array.from({ length: k }, (_, t) => t);
        prof?.reset();
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) {
          const tokens = Array.from({ length: k }, (_, t) => tok(i + t + 7));
          forwardBatch(model, [{ tokens, cache, outputs }], { reuseLogits: true });
          cache.truncate(ctx);
        }
        const us = ((performance.now() - t0) * 1000) / reps;
        const key = `${ctx}/${k}`;
        if (prof) attn.set(key, ((prof.byPhase.get("all")?.get("attention") ?? 0) * 1000) / reps);
        else times.set(key, [...(times.get(key) ?? []), us]);
      }
    });
    model.profiler = undefined;
  }
  console.log(
    `forwardBatch of k rows after ctx positions, ${threads} thread(s), KV ${kvType}, median of ${rounds} x ${reps} calls`,
  );
  console.log("  ctx   rows   us/call   attention us/call (profiled round)");
  for (const ctx of ctxs)
    for (const k of rowCounts) {
      const key = `${ctx}/${k}`;
      console.log(
        `  ${String(ctx).padStart(5)} ${String(k).padStart(4)} ${median(times.get(key)!).toFixed(0).padStart(9)} ${attn.get(key)!.toFixed(0).padStart(10)}`,
      );
    }
} finally {
  await ks.dispose();
}
