/**
 * Decode speed by KV cache type at a long context, measured in one run (interleaved rounds, so a
 * loaded machine hurts every type alike): a random-weight llama (head_dim 64 by default; speed
 * only), or the GGUF given by --model, prefilled to `ctx` positions, then `steps` greedy tokens
 * per type per round (rounds after the first reuse the prompt's KV blocks from the prefix cache,
 * so only the first prefills). Prints the median decode tokens per CPU-second (process CPU time,
 * all threads: less sensitive than wall time to other load on a shared machine) per type, its
 * ratio to F16, and KV bytes per token with its ratio to F32.
 *   node dist/bench/kv-decode.js [--ctx 1024] [--steps 16] [--rounds 3] [--threads 1] [--hd 64]
 *     [--types f32,f16,q8_0,q4_0] [--model m.gguf]
 * Measured (shared 2-core machine under load, so medians move by ~10%): --ctx 4064 --steps 32
 * --rounds 9 --types f16,q8_0: q8_0 x0.94 of f16 median, x1.08 best; --rounds 5 with f32: q8_0
 * x0.99 median / x1.06 best, f32 x0.89 / x0.95; bytes per token q8_0 0.266 of f32. The attention
 * kernel alone at the 852M test model's shape (bench/attention-kv.ts --ctx 4096 --heads 32
 * --kv-heads 4, best of 100): q8_0 x1.04 the speed of f16. With --model on the 852M file a 4K
 * prefill per type did not fit the session on that machine.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM, type LLM } from "../src/engine/llm.js";
import { writeTestModel } from "../src/model/factory/index.js";
import { median } from "../src/cli/bench/read-ceiling.js";
import type { KVType } from "../src/kv/quant-kv.js";

const args = process.argv.slice(2);
const opt = (name: string, d: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : d;
};
const ctx = Number(opt("--ctx", "1024"));
const steps = Number(opt("--steps", "16"));
const rounds = Number(opt("--rounds", "3"));
const threads = Number(opt("--threads", "1"));
const hd = Number(opt("--hd", "64"));
const types = opt("--types", "f32,f16,q8_0,q4_0").split(",") as KVType[];
const modelPath = opt("--model", "");

const dir = mkdtempSync(join(tmpdir(), "kv-decode-"));
const path = modelPath || join(dir, "m.gguf");
if (!modelPath)
  await writeTestModel(path, {
    arch: "llama",
    nEmbd: 4 * hd,
    nLayer: 4,
    nHead: 4,
    nHeadKv: 2,
    nFf: 256,
    nCtx: ctx + 256,
    nVocab: 512,
    seed: 1,
  });
const llms = new Map<KVType, LLM>();
try {
  for (const t of types)
    llms.set(t, await loadLLM(path, { kvType: t, contextSize: ctx + steps + 8, parallel: 1, threads }));
  const prompt = Array.from({ length: ctx }, (_, i) => 3 + ((i * 7919) % 500));
  const tps = new Map<KVType, number[]>(types.map((t) => [t, []]));
  for (let r = 0; r < rounds; r++) {
    for (const t of types) {
      const llm = llms.get(t)!;
      let n = 0;
      let c0 = process.cpuUsage();
      for await (const c of llm.generate(prompt, { maxTokens: steps + 1, temperature: 0, ignoreEos: true })) {
        if (c.type !== "token") continue;
        if (n++ === 0) c0 = process.cpuUsage();
      }
      const cpu = process.cpuUsage(c0);
      tps.get(t)!.push(((n - 1) * 1e6) / (cpu.user + cpu.system));
    }
  }
  const f16 = median(tps.get("f16") ?? [NaN]);
  const c = llms.get(types[0])!.model.config;
  console.log(
    `decode at context ${ctx}, ${modelPath || "random llama"} (${c.nLayers} layers, ${c.nHeadKV} KV heads of ${c.headDimK}), ${threads} thread(s), median of ${rounds}`,
  );
  const f32Bytes = 4 * c.nLayers * c.nHeadKV * (c.headDimK + c.headDimV); // f32 K and V rows
  for (const t of types) {
    const m = median(tps.get(t)!);
    const best = Math.max(...tps.get(t)!);
    const bestF16 = Math.max(...(tps.get("f16") ?? [NaN]));
    const bpt = llms.get(t)!.engine.kvBytesPerToken();
    console.log(
      `  ${t.padEnd(5)} median ${m.toFixed(1).padStart(7)} tok/cpu-s x${(m / f16).toFixed(2)} of f16 | best ${best.toFixed(1).padStart(7)} x${(best / bestF16).toFixed(2)} | ${bpt} B/token (x${(bpt / f32Bytes).toFixed(3)} of f32)`,
    );
  }
} finally {
  for (const l of llms.values()) await l.close();
  rmSync(dir, { recursive: true, force: true });
}
