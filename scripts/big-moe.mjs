// Issue 23's experts-on-demand check (not in `npm test`): a Qwen3-MoE model with Qwen3-30B-A3B's
// layer shapes (2048 embedding, 32/4 heads of 128, 128 experts of 768, 8 used, 151936 vocabulary)
// and fewer layers (26: ~9.4 GB), Q4_K matrices written as random valid blocks and a skewed router
// (hot experts; src/model/factory routerSkew), then run in separate processes: experts resident
// and unconstrained, and experts on demand under each --max-memory budget. Each prints its greedy
// tokens, peak RSS (VmHWM), expert-cache hit rate, MB read per token and decode tok/s; the tokens
// must be identical to the unconstrained run's. The file is deleted afterwards unless --keep.
//
//   npm run build && node scripts/big-moe.mjs [--layers 26] [--threads 2] [--tokens 16]
//     [--budgets 3G,2G] [--out /tmp/edgellm-big-moe.gguf] [--keep]
import { parseArgs } from "node:util";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = new URL("../", import.meta.url);
const dist = (p) => new URL(`dist/${p}`, ROOT).href;
const { GGMLType } = await import(dist("src/gguf/types.js"));

const { values: a } = parseArgs({
  options: {
    layers: { type: "string", default: "26" },
    threads: { type: "string", default: "2" },
    tokens: { type: "string", default: "16" },
    budgets: { type: "string", default: "3G,2G" },
    out: { type: "string", default: join(tmpdir(), "edgellm-big-moe.gguf") },
    keep: { type: "boolean", default: false },
    // internal: one run in this process
    side: { type: "string" },
    "max-memory": { type: "string" },
  },
});
const path = a.out;
const nGen = Number(a.tokens);
const threads = Number(a.threads);
const gb = (n) => `${(n / 1e9).toFixed(2)} GB`;
const PROMPT = [151643, 791, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679, 13];

if (a.side) {
  process.stdout.write(`${JSON.stringify(await side(a.side, a["max-memory"]))}\n`);
  process.exit(0);
}

const spec = {
  arch: "qwen3moe",
  name: "edgellm-big-moe-random",
  nEmbd: 2048,
  nLayer: Number(a.layers),
  nHead: 32,
  nHeadKv: 4,
  headDim: 128,
  nFf: 6144,
  nCtx: 4096,
  nVocab: 151936,
  weightStd: 0.02,
  randomBlocks: true,
  moe: { nExpert: 128, nExpertUsed: 8, nFfExp: 768, routerSkew: 6 },
  types: { weights: GGMLType.Q4_K },
};

try {
  if (!existsSync(path)) {
    const { writeTestModel } = await import(dist("src/model/factory/index.js"));
    const t0 = performance.now();
    await writeTestModel(path, spec);
    console.log(
      `wrote ${path}: ${gb(statSync(path).size)} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
  }
  console.log(
    `model ${path}: ${gb(statSync(path).size)}, ${threads} threads, prompt ${PROMPT.length}, ${nGen} tokens`,
  );
  const runs = [["resident", undefined], ...a.budgets.split(",").map((b) => ["on-demand", b])];
  const results = [];
  for (const [experts, budget] of runs) {
    const args = [fileURLToPath(import.meta.url), "--side", experts, "--out", path, "--tokens", String(nGen)];
    args.push("--threads", String(threads), ...(budget ? ["--max-memory", budget] : []));
    const r = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 24 });
    const last = r.stdout.trim().split("\n").pop() ?? "";
    if (r.status !== 0 || !last.startsWith("{")) {
      console.log(
        `${experts} ${budget ?? ""}: failed (${r.status}): ${r.stderr.trim().split("\n").slice(-4).join(" | ")}`,
      );
      continue;
    }
    const x = JSON.parse(last);
    results.push(x);
    const ex = x.cache;
    console.log(
      `${experts.padEnd(9)} ${(budget ?? "none").padEnd(4)}: load ${x.loadS.toFixed(0)} s, prefill ${x.prefillS.toFixed(1)} s, decode ${x.decodeTps.toFixed(2)} tok/s, VmHWM ${gb(x.hwm)}` +
        (ex
          ? `, cache ${ex.slots} experts, hit rate ${(ex.hits / (ex.hits + ex.misses)).toFixed(3)} (decode ${(ex.decodeHits / Math.max(1, ex.decodeHits + ex.decodeMisses)).toFixed(3)}), ${(ex.bytesRead / 1e6 / (PROMPT.length + nGen)).toFixed(1)} MB read/token (decode ${(ex.decodeBytes / 1e6 / Math.max(1, nGen - 1)).toFixed(1)})`
          : "") +
        ` | tokens ${x.tokens.join(",")}`,
    );
  }
  const ref = results.find((x) => x.experts === "resident");
  for (const x of results)
    if (ref && x !== ref)
      console.log(
        `${x.experts} ${x.maxMemory}: tokens ${JSON.stringify(x.tokens) === JSON.stringify(ref.tokens) ? "identical" : "DIFFER"}, logits of all ${nGen} steps ${x.logitsHash === ref.logitsHash ? "bit-identical" : "DIFFER"} (hash ${x.logitsHash}) to resident; VmHWM ${gb(x.hwm)} vs budget + 10% ${gb(x.maxMemoryBytes * 1.1)}: ${x.hwm <= x.maxMemoryBytes * 1.1 ? "within" : "over"}`,
      );
} finally {
  if (!a.keep) rmSync(path, { force: true });
}

/** One run in this process: load, prefill, greedy decode; peak RSS and expert-cache counters. */
async function side(experts, maxMemory) {
  const { createWasmKernelSet } = await import(dist("src/kernels/wasm/wasm-kernel-set.js"));
  const { loadModel } = await import(dist("src/model/index.js"));
  const { parseByteSize } = await import(dist("src/cli/memory-options.js"));
  const maxMemoryBytes = maxMemory ? parseByteSize("--max-memory", maxMemory) : undefined;
  const ks = await createWasmKernelSet({ threads });
  const t0 = performance.now();
  const model = await loadModel(path, {
    kernels: ks,
    experts,
    ...(maxMemoryBytes ? { maxMemory: maxMemoryBytes } : {}),
  });
  const loadS = (performance.now() - t0) / 1000;
  const cache = model.newCache(PROMPT.length + nGen + 1);
  const t1 = performance.now();
  let logits = model.forward(PROMPT, cache)[0];
  // FNV-1a over the raw bits of every step's logits: equal hashes = bit-identical logits
  let hash = 0x811c9dc5;
  const mix = (l) => {
    for (const u of new Uint32Array(Float32Array.from(l).buffer))
      hash = Math.imul(hash ^ u, 0x01000193) >>> 0;
  };
  mix(logits);
  const prefillS = (performance.now() - t1) / 1000;
  const s0 = model.expertCache?.stats();
  const tokens = [];
  const t2 = performance.now();
  for (let i = 0; i < nGen; i++) {
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    tokens.push(best);
    if (i + 1 < nGen) {
      logits = model.forward([best], cache)[0];
      mix(logits);
    }
  }
  const decodeTps = (nGen - 1) / ((performance.now() - t2) / 1000);
  const s = model.expertCache?.stats();
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  await model.expertCache?.close();
  await ks.dispose();
  return {
    experts,
    maxMemory,
    maxMemoryBytes,
    loadS,
    prefillS,
    decodeTps,
    tokens,
    logitsHash: hash.toString(16),
    hwm: m ? Number(m[1]) * 1024 : Number.NaN,
    // expert mode is `experts`; the cache's counters over prefill + decode, and decode alone
    ...(s
      ? {
          cache: {
            slots: s.slots,
            hits: s.hits,
            misses: s.misses,
            bytesRead: s.bytesRead,
            decodeHits: s.hits - s0.hits,
            decodeMisses: s.misses - s0.misses,
            decodeBytes: s.bytesRead - s0.bytesRead,
          },
        }
      : {}),
  };
}
