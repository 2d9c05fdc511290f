// Issue 23's 8B-shape check (not in `npm test`): the random llama with Llama-3.1-8B's shapes of
// scripts/big-8b.mjs (Q4_K matrices, Q6_K output, ~4.7 GB), loaded by
// edgellm with its weights sharded over two WASM memories, then compared with llama.cpp
// (node-llama-cpp, as test/conformance): last-position logits within the Q4_K (8-bit activation)
// tolerance, greedy tokens equal (a near-tie of llama.cpp's top-2 excepted), peak RSS, and decode
// speed of both at the same thread count. The file is deleted afterwards unless --keep.
//
//   npm run build && node scripts/big-model.mjs [--layers 32] [--threads 2] [--tokens 8]
//     [--out /tmp/edgellm-big-8b.gguf] [--keep] [--shard-bytes N] [--no-ref] [--ref-spread]
//
// --no-ref: edgellm's part only (load, generate, peak RSS), no llama.cpp comparison.
//
// --ref-spread: also run the same prompt through llama.cpp's AVX2 build (EDGELLM_REF_LLAMA=avx2, in a
// child process; `node scripts/setup-llama-avx2.mjs` makes it) and print how far llama.cpp's two CPU
// builds are from each other on the same file, the yardstick for our own max |d| at this depth.
//
// --layers smaller than 32 keeps the 8B layer shapes with fewer layers (a quick dry run).
import { parseArgs } from "node:util";
import { rmSync, statSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BIG_8B_PATH, BIG_8B_PROMPT, big8bSpec } from "./big-8b.mjs";

const ROOT = new URL("../", import.meta.url);
const dist = (p) => new URL(`dist/${p}`, ROOT).href;
const { writeTestModel } = await import(dist("src/model/factory/index.js"));
const { createWasmKernelSet } = await import(dist("src/kernels/wasm/wasm-kernel-set.js"));
const { loadModel } = await import(dist("src/model/index.js"));
const { describePlacement, planPlacement } = await import(dist("src/model/placement.js"));
const { openGGUF } = await import(dist("src/gguf/reader.js"));
const { referenceRun, referenceLlama, referenceBackend } = await import(
  dist("test/conformance/reference.js")
);
const { byteTolerance } = await import(dist("test/conformance/harness.js"));

const { values: a } = parseArgs({
  options: {
    layers: { type: "string", default: "32" },
    threads: { type: "string", default: "2" },
    tokens: { type: "string", default: "8" },
    out: { type: "string", default: BIG_8B_PATH },
    keep: { type: "boolean", default: false },
    "shard-bytes": { type: "string" },
    "no-ref": { type: "boolean", default: false },
    "ref-spread": { type: "boolean", default: false },
    "ref-child": { type: "string" },
  },
});
const nLayer = Number(a.layers);
const threads = Number(a.threads);
const nGen = Number(a.tokens);
const gb = (n) => `${(n / 1e9).toFixed(2)} GB`;
/** Peak resident set of this process so far (VmHWM), bytes. */
const vmHWM = () => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
};

const spec = big8bSpec(nLayer);

const path = a.out;
const PROMPT = BIG_8B_PROMPT;
if (a["ref-child"]) {
  // Child of --ref-spread: llama.cpp (whichever build EDGELLM_REF_LLAMA picks) on the kept file.
  const llama = await referenceLlama();
  const r = await referenceRun(path, PROMPT, 1, 128256, { contextSize: 64 });
  writeFileSync(a["ref-child"], Buffer.from(Float32Array.from(r.logits).buffer));
  console.log(`llama.cpp (${referenceBackend()}) logits written`);
  await llama.dispose();
  process.exit(0);
}
try {
  if (!existsSync(path)) {
    const t0 = performance.now();
    await writeTestModel(path, spec);
    console.log(
      `wrote ${path}: ${gb(statSync(path).size)} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
  }
  const fileSize = statSync(path).size;
  const prompt = PROMPT;

  // ---- edgellm: sharded load, prompt, greedy decode ----
  const ks = await createWasmKernelSet({
    threads,
    ...(a["shard-bytes"] ? { shardBytes: Number(a["shard-bytes"]) } : {}),
  });
  const f = await openGGUF(path);
  const plan = planPlacement(f, ks);
  await f.close();
  console.log(`placement: ${describePlacement(plan).join("; ")}`);
  const hwm0 = vmHWM();
  // Reset the peak to the current RSS (Linux clear_refs 5), so writing the file does not count.
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {}
  const t0 = performance.now();
  const model = await loadModel(path, { kernels: ks });
  const loadS = (performance.now() - t0) / 1000;
  const cache = model.newCache(prompt.length + nGen + 1);
  const t1 = performance.now();
  let logits = model.forward(prompt, cache)[0];
  const prefillS = (performance.now() - t1) / 1000;
  const first = Float32Array.from(logits);
  const ours = [];
  const oursLogits = [first];
  const t2 = performance.now();
  for (let i = 0; i < nGen; i++) {
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    ours.push(best);
    if (i + 1 < nGen) {
      logits = model.forward([best], cache)[0];
      oursLogits.push(Float32Array.from(logits));
    }
  }
  const decodeS = (performance.now() - t2) / 1000;
  const oursTps = (nGen - 1) / decodeS;
  const hwm = vmHWM();
  const kvBytes = cache.bytesPerToken() * (prompt.length + nGen + 1);
  console.log(
    `edgellm: ${ks.sharding.count} memories, load ${loadS.toFixed(0)} s, prefill ${prompt.length} tok ${prefillS.toFixed(1)} s, decode ${oursTps.toFixed(2)} tok/s (${threads} threads), VmHWM ${gb(hwm)} (before load ${gb(hwm0)}; file ${gb(fileSize)} + KV ${gb(kvBytes)})`,
  );
  await ks.dispose();
  if (a["no-ref"]) {
    const limit = (fileSize + kvBytes) * 1.1;
    console.log(`peak RSS ${gb(hwm)} vs file + KV + 10% ${gb(limit)}: ${hwm <= limit ? "within" : "over"}`);
  } else await compare({ prompt, first, ours, oursTps, hwm, fileSize, kvBytes });
} finally {
  if (!a.keep) rmSync(path, { force: true });
}

async function compare({ prompt, first, ours, oursTps, hwm, fileSize, kvBytes }) {
  // ---- llama.cpp on the same file ----
  const llama = await referenceLlama();
  const t3 = performance.now();
  const ref = await referenceRun(path, prompt, nGen, 128256, { contextSize: 64 });
  const refS = (performance.now() - t3) / 1000;
  console.log(
    `llama.cpp (${referenceBackend()}): ${refS.toFixed(0)} s for load + prompt + ${nGen} greedy tokens`,
  );
  // Decode speed of llama.cpp at the same thread count, timed apart from its load.
  const m = await llama.loadModel({ modelPath: path });
  const ctx = await m.createContext({ contextSize: 64, threads });
  const seq = ctx.getSequence();
  await seq.controlledEvaluate(prompt.map((t) => t));
  let tok = ref.greedy[0];
  const t4 = performance.now();
  for (let i = 1; i < nGen; i++) {
    const o = await seq.controlledEvaluate([[tok, { generateNext: { token: true } }]]);
    tok = o[0].next.token;
  }
  const refTps = (nGen - 1) / ((performance.now() - t4) / 1000);
  await ctx.dispose();
  await m.dispose();

  // ---- comparison ----
  let maxErr = 0;
  let scale = 0;
  for (let v = 0; v < first.length; v++) {
    maxErr = Math.max(maxErr, Math.abs(first[v] - ref.logits[v]));
    scale = Math.max(scale, Math.abs(ref.logits[v]));
  }
  const tol = byteTolerance(scale);
  let firstDiff = -1;
  for (let i = 0; i < nGen; i++)
    if (ours[i] !== ref.greedy[i]) {
      firstDiff = i;
      break;
    }
  let gap = Number.NaN;
  if (firstDiff >= 0) {
    const r = [...ref.greedyLogits[firstDiff]].sort((x, y) => y - x);
    gap = r[0] - r[1];
  }
  console.log(
    `last-position logits: max |d| ${maxErr.toExponential(3)}, max |logit| ${scale.toFixed(3)}, tolerance ${tol.toExponential(3)}: ${maxErr <= tol ? "PASS" : "FAIL"}`,
  );
  console.log(
    `greedy ours ${ours.join(",")}\ngreedy ref  ${ref.greedy.join(",")}: ${firstDiff < 0 ? "equal" : `differ at ${firstDiff} (llama.cpp top-2 gap ${gap.toExponential(2)})`}`,
  );
  console.log(
    `decode tokens/s: edgellm ${oursTps.toFixed(2)}, llama.cpp ${refTps.toFixed(2)} (ratio ${(oursTps / refTps).toFixed(2)}), ${threads} threads`,
  );
  console.log(
    `peak RSS (edgellm part) ${gb(hwm)} vs file + KV + 10% ${gb((fileSize + kvBytes) * 1.1)}: ${hwm <= (fileSize + kvBytes) * 1.1 ? "within" : "over"}`,
  );
  await llama.dispose();
  if (a["ref-spread"]) {
    const out = join(tmpdir(), `edgellm-big-ref-${process.pid}.f32`);
    const args = [fileURLToPath(import.meta.url), "--out", path, "--ref-child", out];
    const env = { ...process.env, EDGELLM_REF_LLAMA: "avx2" };
    const c = spawnSync(process.execPath, args, { env, stdio: "inherit" });
    if (c.status !== 0) throw new Error(`the AVX2 reference run failed (exit ${c.status})`);
    const other = new Float32Array(readFileSync(out).buffer.slice(0));
    rmSync(out, { force: true });
    let spread = 0;
    let oursVsOther = 0;
    for (let v = 0; v < first.length; v++) {
      spread = Math.max(spread, Math.abs(other[v] - ref.logits[v]));
      oursVsOther = Math.max(oursVsOther, Math.abs(first[v] - other[v]));
    }
    console.log(
      `llama.cpp's own builds (${referenceBackend()} vs AVX2) on this file: max |d| ${spread.toExponential(3)}; ours vs the AVX2 build ${oursVsOther.toExponential(3)}`,
    );
  }
}
