// Issue 21's demonstration adapter, one command, resumable: teach the default model metric unit
// conversion (a skill it lacks) with a LoRA on its frozen F32 weights, then measure on the shipped
// Q8_0 model with and without the adapter:
//   - held-out conversions (values that no training conversion uses, data/units.ts), exact match;
//   - the base's held-out arithmetic (the same items as `edgellm eval --n`, test split by a salted
//     hash), exact match, paired per item, with a 95% interval on the difference.
// Training data (train/lora-demo.ts): conversions + the base's own greedy answers to arithmetic
// questions from the corpus's train split (self-distillation replay, so arithmetic stays put).
//
//   npm run build && node scripts/lora-demo.mjs [--steps 300] [--stop-at N] [--no-train] [--data-only]
//     [--replay 1600] [--n-units 100] [--n-arith 500] [--hard-repeat N] [--side both|base|adapter] [--threads 2] [--json out.json]
//
// State lives in train-state/lora-demo/ (data.jsonl, the checkpoint): rerunning the command
// continues an interrupted run exactly where it stopped (same batches, same loss curve).
import { parseArgs } from "node:util";
import { dirname } from "node:path";
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";

const ROOT = new URL("../", import.meta.url);
const path = (p) => new URL(p, ROOT).pathname;
const dist = (p) => new URL(`dist/${p}`, ROOT).href;
const { loadLLM } = await import(dist("src/engine/llm.js"));
const { arithmeticTestItems, evalArithmetic } = await import(dist("src/train/eval/arithmetic.js"));
const { unitExamples } = await import(dist("src/train/data/units.js"));
const { arithmeticTrainItems, selfDistill } = await import(dist("src/train/lora-demo.js"));

const { values: a } = parseArgs({
  options: {
    base: { type: "string", default: path("models/edgellm-default-f32.gguf") },
    model: { type: "string", default: path("models/edgellm-default-q8_0.gguf") },
    adapter: { type: "string", default: path("models/adapters/units-lora.gguf") },
    state: { type: "string", default: path("train-state/lora-demo") },
    steps: { type: "string", default: "300" },
    "stop-at": { type: "string" },
    rank: { type: "string", default: "16" },
    alpha: { type: "string", default: "32" },
    lr: { type: "string", default: "1e-3" },
    "seq-len": { type: "string", default: "640" },
    units: { type: "string", default: "1000" },
    replay: { type: "string", default: "1600" },
    "hard-repeat": { type: "string", default: "8" },
    "no-train": { type: "boolean", default: false },
    "data-only": { type: "boolean", default: false },
    side: { type: "string", default: "both" },
    "n-units": { type: "string", default: "100" },
    "n-arith": { type: "string", default: "500" },
    threads: { type: "string", default: "2" },
    json: { type: "string" },
  },
});
const threads = Number(a.threads);

if (!a["no-train"]) {
  mkdirSync(a.state, { recursive: true });
  const data = `${a.state}/data.jsonl`;
  if (!existsSync(data)) {
    // The replay is decoded in chunks appended to replay.jsonl, so an interrupted run resumes.
    const t0 = performance.now();
    const items = arithmeticTrainItems(Number(a.replay));
    const part = `${a.state}/replay.jsonl`;
    const have = existsSync(part) ? readFileSync(part, "utf8").split("\n").filter(Boolean).length : 0;
    if (have < items.length) {
      const llm = await loadLLM(a.base, { kernels: "wasm", threads, parallel: 16 });
      try {
        for (let i = have; i < items.length; i += 50) {
          const rows = await selfDistill(llm, items.slice(i, i + 50));
          appendFileSync(part, rows.map((r) => JSON.stringify(r) + "\n").join(""));
          console.log(`replay ${Math.min(i + 50, items.length)}/${items.length}`);
        }
      } finally {
        await llm.close();
      }
    }
    const units = unitExamples(Number(a.units), "train").map((e) => JSON.stringify({ messages: e.messages }));
    // × and word problems (the kinds the adapter disturbs most) can be repeated in the replay.
    const hard = Number(a["hard-repeat"]);
    const replay = readFileSync(part, "utf8")
      .split("\n")
      .filter(Boolean)
      .slice(0, items.length)
      .flatMap((r, i) => Array(items[i].kind === "mul" || items[i].kind === "word" ? hard : 1).fill(r));
    writeFileSync(`${data}.tmp`, [...units, ...replay].join("\n") + "\n");
    renameSync(`${data}.tmp`, data);
    console.log(
      `${data}: ${units.length + replay.length} examples (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
  if (a["data-only"]) process.exit(0);
  mkdirSync(dirname(a.adapter), { recursive: true });
  const args = ["train", "--lora", "--base", a.base, "--data", data, "--adapter", a.adapter];
  args.push("--work", a.state, "--steps", a.steps, "--rank", a.rank, "--alpha", a.alpha);
  args.push("--lr", a.lr, "--seq-len", a["seq-len"], "--no-progress");
  if (a["stop-at"]) args.push("--stop-at", a["stop-at"]);
  if (existsSync(`${a.state}/lora.ckpt`)) args.push("--resume");
  console.log(`edgellm ${args.join(" ")}`);
  const t0 = performance.now();
  execFileSync(process.execPath, [path("dist/src/cli/main.js"), ...args], { stdio: "inherit" });
  console.log(`training took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (a["stop-at"] && Number(a["stop-at"]) < Number(a.steps)) process.exit(0);
}
if (a.side !== "base") console.log(`adapter ${a.adapter}: ${statSync(a.adapter).size} bytes`);

const units = unitExamples(Number(a["n-units"]), "test").map((e) => ({
  question: e.messages[0].content,
  answer: String(e.answer),
  kind: "units",
  digits: String(e.answer).length,
  lang: "en",
}));
const arith = arithmeticTestItems(Number(a["n-arith"]));
const opts = { kernels: "wasm", threads, parallel: 8 };
// Each side's results go to the state directory, so the two sides can run as separate processes
// (--side base | adapter) and the comparison below reads both.
const sides = a.side === "both" ? ["base", "adapter"] : [a.side];
for (const side of sides) {
  const llm = await loadLLM(a.model, side === "adapter" ? { ...opts, lora: [{ path: a.adapter }] } : opts);
  try {
    const u = await evalArithmetic(llm, units, { maxTokens: 80, concurrency: 8 });
    const r = await evalArithmetic(llm, arith, { maxTokens: 700, concurrency: 8 });
    const row = { units: u.total, arithmetic: r.total, byKind: r.byKind, unitSample: u.results[0] };
    row.arithOk = r.results.map((x) => x.got === x.answer);
    mkdirSync(a.state, { recursive: true });
    writeFileSync(`${a.state}/eval-${side}-${units.length}-${arith.length}.json`, JSON.stringify(row));
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
const rows = {};
for (const side of ["base", "adapter"]) {
  const f = `${a.state}/eval-${side}-${units.length}-${arith.length}.json`;
  if (!existsSync(f)) process.exit(0);
  rows[side] = JSON.parse(readFileSync(f, "utf8"));
}
// Paired difference (same items): items the adapter lost and gained; normal interval on the mean.
const b = rows.base.arithOk;
const d = rows.adapter.arithOk.map((ok, i) => Number(ok) - Number(b[i]));
const n = d.length;
const mean = d.reduce((s, x) => s + x, 0) / n;
const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, n - 1));
const half = (1.96 * sd) / Math.sqrt(n);
const lost = d.filter((x) => x < 0).length;
const gained = d.filter((x) => x > 0).length;
console.log(
  `units ${(100 * rows.base.units.accuracy).toFixed(1)}% -> ${(100 * rows.adapter.units.accuracy).toFixed(1)}% (aim >= 90%); ` +
    `arithmetic with the adapter ${mean >= 0 ? "+" : ""}${(100 * mean).toFixed(1)} points ` +
    `(95% CI ${(100 * (mean - half)).toFixed(1)} to ${(100 * (mean + half)).toFixed(1)}; ${lost} items lost, ${gained} gained of ${n}; aim within 2)`,
);
if (a.json) {
  for (const s of Object.values(rows)) delete s.arithOk;
  writeFileSync(a.json, JSON.stringify({ ...rows, paired: { n, mean, half, lost, gained } }, null, 1));
}
