// Held-out curve of a GRPO run: greedy pass@1 on the first n held-out v2 items of some kinds (the
// same items as `edgellm eval --set v2 --kinds mul,word --questions n`) for the starting model and
// every snapshot the run kept (`train-rl.mjs grpo --snapshot-every K` writes <work>/grpo-s<step>.ckpt).
//   node scripts/rl-curve.mjs <work> --init <start-f32.gguf> [--n 200] [--kinds mul,word]
//        [--max-tokens 768] [--threads 2] [--steps 10,20] [--plot <work>/curve.svg]
// Each point is cached in <work>/curve/<name>.json (with per-item outcomes, "1"/"0" per item); the
// table gives accuracy per kind and the exact McNemar test of every point against the start.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { loadLLM } = await imp("src/engine/llm.js");
const { arithmeticTestItems, evalArithmetic } = await imp("src/train/eval/arithmetic.js");
const { V2_MODEL_DATA } = await imp("src/train/presets.js");
const { exportCheckpoint } = await imp("src/train/rl/stages.js");
const { mcnemarExact } = await imp("src/reasoning/eval.js");
const { accuracySVG } = await imp("src/reasoning/plot.js");

const a = process.argv.slice(2);
const opt = (k, d) => (a.includes(k) ? a[a.indexOf(k) + 1] : d);
const work = a[0];
const init = opt("--init");
if (!work || !init) throw new Error("usage: rl-curve.mjs <work> --init <start-f32.gguf> [--n 200] ...");
const n = Number(opt("--n", "200"));
const kinds = opt("--kinds", "mul,word").split(",");
const maxTokens = Number(opt("--max-tokens", "768"));
const threads = Number(opt("--threads", "2"));
const only = opt("--steps")?.split(",").map(Number);
const items = arithmeticTestItems(n, { data: V2_MODEL_DATA, kinds });
const outDir = path.join(work, "curve");
await mkdir(outDir, { recursive: true });

const snaps = (await readdir(work))
  .map((f) => /^grpo-s(\d+)\.ckpt$/.exec(f))
  .filter((m) => m && (!only || only.includes(Number(m[1]))))
  .map((m) => ({ step: Number(m[1]), ckpt: path.join(work, m[0]) }))
  .sort((x, y) => x.step - y.step);
const points = [];
for (const p of [{ step: 0 }, ...snaps]) {
  const name = `s${p.step}`;
  const file = path.join(outDir, `${name}.json`);
  const key = { init, ckpt: p.ckpt ?? null, n, kinds, maxTokens };
  if (existsSync(file)) {
    const c = JSON.parse(await readFile(file, "utf8"));
    if (JSON.stringify(c.key) === JSON.stringify(key)) {
      points.push(c);
      continue;
    }
  }
  let model = init;
  if (p.ckpt) {
    const prefix = path.join(outDir, `${name}-tmp`);
    [, model] = await exportCheckpoint(init, p.ckpt, prefix); // [f32, q8_0]: the q8_0 is evaluated
  } else model = init.replace(/-f32\.gguf$/, "-q8_0.gguf");
  const llm = await loadLLM(model, { kernels: "wasm", threads, parallel: 8 });
  let r;
  try {
    r = await evalArithmetic(llm, items, { maxTokens, concurrency: 8 });
  } finally {
    await llm.close();
  }
  if (p.ckpt) for (const t of ["f32", "q8_0"]) await rm(path.join(outDir, `${name}-tmp-${t}.gguf`));
  const c = {
    key,
    step: p.step,
    model,
    correct: r.total.correct,
    questions: r.total.n,
    byKind: r.byKind,
    outcomes: r.results.map((x) => (x.got === x.answer ? "1" : "0")).join(""),
    tokensPerQuestion: r.completionTokens / r.total.n,
    seconds: r.seconds,
  };
  await writeFile(file, JSON.stringify(c));
  points.push(c);
  console.error(`step ${p.step}: ${c.correct}/${c.questions} (${r.seconds.toFixed(0)} s)`);
}
const base = points[0];
const pct = (c, q) => `${c}/${q} (${((100 * c) / q).toFixed(1)}%)`;
console.log(`| step | all | ${kinds.join(" | ")} | vs start: only start / only step, McNemar p |`);
console.log(`|---|---|${kinds.map(() => "---|").join("")}---|`);
for (const p of points) {
  const m = mcnemarExact(base.outcomes, p.outcomes);
  const k = kinds.map((x) => (p.byKind[x] ? pct(p.byKind[x].correct, p.byKind[x].n) : "-"));
  console.log(
    `| ${p.step} | ${pct(p.correct, p.questions)} | ${k.join(" | ")} | ${p === base ? "-" : `${m.onlyA} / ${m.onlyB}, p = ${m.p.toFixed(3)}`} |`,
  );
}
const plot = opt("--plot", path.join(work, "curve.svg"));
const series = ["all", ...kinds].map((k) => ({
  name: k === "all" ? `all ${kinds.join("+")}` : k,
  points: points.map((p) => ({
    x: p.step,
    y: k === "all" ? p.correct / p.questions : (p.byKind[k]?.accuracy ?? 0),
    label: `${p.step}`,
  })),
}));
await writeFile(
  plot,
  accuracySVG(series, `Held-out greedy pass@1 during GRPO (${items.length} v2 items)`, "GRPO step", {
    linear: true,
  }),
);
console.error(`wrote ${plot}`);
