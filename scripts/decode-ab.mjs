// Decode speed of two builds of edgellm, A/B in one process: `node --experimental-wasm-relaxed-simd
// --no-liftoff scripts/decode-ab.mjs ROOT_A ROOT_B model.gguf [--rounds 9] [--steps 8]
// [--threads 1] [--env-a K=V,...] [--env-b K=V,...] [--forced]`. ROOT_A and ROOT_B are two built checkouts (dist/ and build/kernels/, e.g. a
// `git archive` of the old commit built beside this one); each loads the model with its own
// forward pass and kernels, both are prefilled with the same prompt, then each round decodes
// `steps` greedy tokens on A and on B, in the order A B then B A, so that the machine's drift hits
// both alike. Time is the process's CPU time (user + system; with one thread the kernels run on
// this thread), which a busy machine's preemption does not inflate as it does wall time. Prints
// the median decode tokens per CPU-second of each and the median of the per-round ratios B/A.
// Greedy tokens must agree between A and B (checked), so both do the same work; with --forced both
// decode the same fixed tokens (no check needed).
import path from "node:path";
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import { abRounds, median } from "./ab-rounds.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : def;
};
const rounds = Number(opt("--rounds", "9"));
const steps = Number(opt("--steps", "8"));
const threads = Number(opt("--threads", "1"));
// --env-a / --env-b K=V[,K=V]: environment for one side's kernel set only (e.g. EDGELLM_SIMD=simd128
// on A to compare builds or kernel choices within one checkout: ROOT_A = ROOT_B)
const envA = opt("--env-a", "");
const envB = opt("--env-b", "");
// --forced: decode a fixed token sequence instead of greedy (A and B may round differently, e.g.
// SIMD128 vs relaxed fused multiply-adds, and a random-weight model's near-ties then differ)
const fi = args.indexOf("--forced");
const forced = fi >= 0 && args.splice(fi, 1).length > 0;
const [rootA, rootB, model] = args;
if (!rootA || !rootB || !model) {
  console.error("usage: decode-ab.mjs ROOT_A ROOT_B model.gguf [--rounds N] [--steps N] [--threads N]");
  process.exit(2);
}

const argmax = (x) => {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
};
const prompt = Array.from({ length: 16 }, (_, i) => 3 + ((i * 37) % 200));

async function side(root) {
  const dist = (p) => pathToFileURL(path.resolve(root, "dist", p)).href;
  const { createWasmKernelSet } = await import(dist("src/kernels/wasm/wasm-kernel-set.js"));
  const { loadModel } = await import(dist("src/model/index.js"));
  const ks = await createWasmKernelSet({ threads });
  const m = await loadModel(model, { kernels: ks });
  const cache = m.newCache(prompt.length + rounds * 2 * steps + 8, "f32", "kernel");
  let logits = m.forward(prompt, cache)[0];
  const tokens = [];
  return {
    ks,
    /** decode `steps` tokens, return CPU seconds */
    run() {
      const c0 = process.cpuUsage();
      for (let i = 0; i < steps; i++) {
        const t = forced ? 3 + ((tokens.length * 53) % 200) : argmax(logits);
        tokens.push(t);
        logits = m.forward([t], cache)[0];
      }
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / 1e6;
    },
    tokens,
  };
}

/** side(root) with the variables of `spec` set while its kernel set and model are made. */
async function sideWith(root, spec) {
  const saved = {};
  for (const kv of spec.split(",").filter((x) => x)) {
    const [k, v] = kv.split("=");
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    return await side(root);
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}
const A = await sideWith(rootA, envA);
const B = await sideWith(rootB, envB);
console.log(
  `A kernels ${A.ks.name}${A.ks.dot32 ? " dot32" : ""} ${envA}; B kernels ${B.ks.name}${B.ks.dot32 ? " dot32" : ""} ${envB}`,
);
try {
  A.run(); // warm-up
  B.run();
  // costs in CPU seconds; tokens/s = steps / cost, B's speed over A's = cost A / cost B
  const {
    ta: ca,
    tb: cb,
    ratio,
  } = abRounds(
    rounds,
    () => A.run(),
    () => B.run(),
  );
  const ta = ca.map((c) => steps / c);
  const tb = cb.map((c) => steps / c);
  const r = ratio.map((x) => 1 / x);
  if (A.tokens.some((t, i) => t !== B.tokens[i])) throw new Error("greedy tokens differ between A and B");
  console.log(`model ${model}, ${threads} thread(s), ${rounds} rounds x ${steps} tokens, A B / B A order`);
  console.log(
    `A ${rootA}: decode ${median(ta).toFixed(1)} tok/CPU-s (median), best ${Math.max(...ta).toFixed(1)}`,
  );
  console.log(
    `B ${rootB}: decode ${median(tb).toFixed(1)} tok/CPU-s (median), best ${Math.max(...tb).toFixed(1)}`,
  );
  console.log(
    `B/A speed, median of rounds: ${median(r).toFixed(3)} (rounds ${r.map((x) => x.toFixed(2)).join(" ")}); load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
} finally {
  await A.ks.dispose();
  await B.ks.dispose();
}
