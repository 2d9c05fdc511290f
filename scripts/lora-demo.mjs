// Issue 21's demonstration adapter: train a LoRA for the default model with one command
// (`edgellm train --lora --demo units`: metric unit conversion, which the base was never taught),
// then measure, on the default model (Q8_0) with and without the adapter, greedy exact-match
// accuracy on held-out conversions (odd values; training saw only even ones) and on the base's
// own held-out arithmetic (the same items as `edgellm eval --n`).
//
//   npm run build && node scripts/lora-demo.mjs [--steps 300] [--adapter out.gguf] [--no-train]
//     [--n-units 100] [--n-arith 200] [--threads 2] [--json out.json]
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";

const ROOT = new URL("../", import.meta.url);
const dist = (p) => new URL(`dist/${p}`, ROOT).href;
const { loadLLM } = await import(dist("src/engine/llm.js"));
const { arithmeticTestItems, evalArithmetic } = await import(dist("src/train/eval/arithmetic.js"));
const { unitExamples } = await import(dist("src/train/data/units.js"));

const { values: a } = parseArgs({
  options: {
    base: { type: "string", default: new URL("models/edgellm-default-f32.gguf", ROOT).pathname },
    model: { type: "string", default: new URL("models/edgellm-default-q8_0.gguf", ROOT).pathname },
    adapter: { type: "string", default: new URL("models/edgellm-units-lora.gguf", ROOT).pathname },
    steps: { type: "string", default: "300" },
    rank: { type: "string", default: "16" },
    lr: { type: "string", default: "2e-3" },
    "no-train": { type: "boolean", default: false },
    "n-units": { type: "string", default: "100" },
    "n-arith": { type: "string", default: "200" },
    threads: { type: "string", default: "2" },
    json: { type: "string" },
  },
});

if (!a["no-train"]) {
  const args = ["train", "--lora", "--demo", "units", "--base", a.base, "--adapter", a.adapter];
  args.push("--steps", a.steps, "--rank", a.rank, "--lr", a.lr, "--no-progress");
  console.log(`edgellm ${args.join(" ")}`);
  const t0 = performance.now();
  execFileSync(process.execPath, [new URL("dist/src/cli/main.js", ROOT).pathname, ...args], {
    stdio: "inherit",
  });
  console.log(`training took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
console.log(`adapter ${a.adapter}: ${statSync(a.adapter).size} bytes`);

const units = unitExamples(Number(a["n-units"]), "test").map((e) => ({
  question: e.messages[0].content,
  answer: String(e.answer),
  kind: "units",
  digits: String(e.answer).length,
  lang: "en",
}));
const arith = arithmeticTestItems(Number(a["n-arith"]));
const opts = { kernels: "wasm", threads: Number(a.threads), parallel: 4 };
const rows = {};
for (const side of ["base", "adapter"]) {
  const llm = await loadLLM(a.model, side === "adapter" ? { ...opts, lora: [{ path: a.adapter }] } : opts);
  try {
    const u = await evalArithmetic(llm, units, { maxTokens: 80 });
    const r = await evalArithmetic(llm, arith, { maxTokens: 400 });
    rows[side] = { units: u.total, arithmetic: r.total, sample: u.results[0] };
    console.log(
      `${side.padEnd(7)} units ${(100 * u.total.accuracy).toFixed(1)}% (${u.total.correct}/${u.total.n})  arithmetic ${(100 * r.total.accuracy).toFixed(1)}% (${r.total.correct}/${r.total.n})`,
    );
    console.log(
      `        e.g. ${JSON.stringify(u.results[0].question)} -> ${JSON.stringify(u.results[0].text)}`,
    );
  } finally {
    await llm.close();
  }
}
const dArith = 100 * (rows.adapter.arithmetic.accuracy - rows.base.arithmetic.accuracy);
console.log(
  `units ${(100 * rows.base.units.accuracy).toFixed(1)}% -> ${(100 * rows.adapter.units.accuracy).toFixed(1)}% (aim >= 90%); arithmetic with the adapter ${dArith >= 0 ? "+" : ""}${dArith.toFixed(1)} points (aim within 2)`,
);
if (a.json) writeFileSync(a.json, JSON.stringify(rows, null, 1));
