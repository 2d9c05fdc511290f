/**
 * KV memory of sliding-window layers, windowed (default: their own KV group gives back blocks that
 * fall out of the window, kv/paged-cache.ts KVGroup) vs --swa-full (every layer keeps every
 * position), at Gemma 3 1B's attention shape: 26 layers, 5 local : 1 global (layers 5, 11, 17, 23
 * global), 4 query heads and 1 KV head of 256, window 512. The width, FFN and vocabulary are small
 * (they do not touch the KV; the weights are random), so a 4,096-position prefill fits a laptop.
 * One sequence is prefilled to `ctx` positions through the engine; the KV bytes its blocks hold
 * per group are read at its first generated token (of four: the sequence is still live), and each engine's whole pool (allocated up
 * front) is printed too.
 *   node dist/bench/swa-kv.js [--ctx 4096] [--kv f32] [--block 16]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM } from "../src/engine/llm.js";
import { writeTestModel } from "../src/model/factory/index.js";
import type { KVType } from "../src/kv/quant-kv.js";

const args = process.argv.slice(2);
const opt = (name: string, d: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : d;
};
const ctx = Number(opt("--ctx", "4096"));
const kvType = opt("--kv", "f32") as KVType;
const blockSize = Number(opt("--block", "16"));
const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

const dir = mkdtempSync(join(tmpdir(), "swa-kv-"));
const path = join(dir, "gemma3-1b-shape.gguf");
try {
  await writeTestModel(path, {
    arch: "gemma3",
    nEmbd: 64,
    nLayer: 26,
    nHead: 4,
    nHeadKv: 1,
    headDim: 256,
    nFf: 64,
    nCtx: 32768,
    nVocab: 512,
    ropeFreqBase: 1e6,
    swa: { window: 512, pattern: 6 },
    tiedEmbeddings: true,
  });
  let x = 12345;
  // Room for the generated tokens: a sequence that fills the context ends at its first token.
  const prompt = Array.from({ length: ctx - 8 }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return 3 + (x % 500);
  });
  console.log(
    `Gemma 3 1B attention shape (26 layers, 4 global, window 512, 1 KV head x 256), ${kvType} KV, blocks of ${blockSize}, ${ctx} positions`,
  );
  for (const swaFull of [false, true]) {
    const llm = await loadLLM(path, {
      contextSize: ctx,
      parallel: 1,
      blockSize,
      kvType,
      threads: 1,
      swaFull,
    });
    try {
      let held: { window: number; layers: number; usedBytes: number }[] | undefined;
      const t0 = performance.now();
      for await (const ch of llm.generate(prompt, { temperature: 0, ignoreEos: true, maxTokens: 4 }))
        if (ch.type === "token") held ??= llm.engine.stats().kvGroups;
      const ms = performance.now() - t0;
      const groups = llm.engine.stats().kvGroups;
      const total = held!.reduce((n, g) => n + g.usedBytes, 0);
      const pool = groups.reduce((n, g) => n + g.poolBytes, 0);
      console.log(
        `  ${swaFull ? "--swa-full" : "windowed  "}: held ${MiB(total)} (${held!
          .map((g) => `${g.layers} ${g.window ? `window-${g.window}` : "global"} layers ${MiB(g.usedBytes)}`)
          .join(", ")}); pool allocated ${MiB(pool)}; prefill ${(ms / 1000).toFixed(1)} s`,
      );
    } finally {
      await llm.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
