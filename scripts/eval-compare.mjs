// Compare `edgellm eval --json` runs made on the same questions (one configuration per file, or more):
//   node scripts/eval-compare.mjs a.json b.json ... [--pair LABEL_A=LABEL_B ...] [--plot out.svg] [--title T]
// prints every configuration's accuracy with its Wilson 95% interval, per-kind counts and tokens per
// question; for each --pair (labels as printed, or file names without .json) the exact McNemar test on
// the per-question outcomes; --plot draws accuracy vs tokens per question (the eval's chart).
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { wilson95, mcnemarExact } = await imp("src/reasoning/eval.js");
const { plotSeries } = await imp("src/reasoning/eval-sweep.js");
const { accuracySVG } = await imp("src/reasoning/plot.js");

const args = process.argv.slice(2);
const files = [];
const pairs = [];
let plot;
let title;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--pair") pairs.push(args[++i]);
  else if (args[i] === "--plot") plot = args[++i];
  else if (args[i] === "--title") title = args[++i];
  else files.push(args[i]);
}
if (files.length === 0)
  throw new Error("usage: eval-compare.mjs a.json b.json ... [--pair A=B] [--plot out.svg]");
const points = [];
const byName = new Map();
for (const f of files) {
  const d = JSON.parse(await readFile(f, "utf8"));
  for (const p of d.points) {
    points.push(p);
    byName.set(p.label, p);
    if (d.points.length === 1) byName.set(path.basename(f, ".json"), p);
  }
}
const n = new Set(points.map((p) => p.questions));
if (n.size !== 1) throw new Error(`the runs have different question counts: ${[...n].join(", ")}`);
const pct = (x) => (100 * x).toFixed(1);
console.log("| config | correct | 95% CI | by kind | tokens/q |\n|---|---|---|---|---|");
for (const p of points) {
  const [lo, hi] = wilson95(p.correct, p.questions);
  const kinds = Object.entries(p.byKind)
    .map(([k, v]) => `${k} ${v.correct}/${v.questions}`)
    .join(", ");
  console.log(
    `| ${p.label} | ${p.correct}/${p.questions} | ${pct(lo)}–${pct(hi)}% | ${kinds} | ${p.tokensPerQuestion.toFixed(0)} |`,
  );
}
for (const pair of pairs) {
  const [a, b] = pair.split("=");
  const pa = byName.get(a);
  const pb = byName.get(b);
  if (!pa || !pb) throw new Error(`--pair ${pair}: no configuration named ${!pa ? a : b}`);
  if (!pa.outcomes || !pb.outcomes) throw new Error(`--pair ${pair}: a run without per-question outcomes`);
  const m = mcnemarExact(pa.outcomes, pb.outcomes);
  console.log(
    `McNemar ${a} vs ${b}: ${pa.correct} vs ${pb.correct} right; right only in ${a} ${m.onlyA}, only in ${b} ${m.onlyB}; exact two-sided p = ${m.p.toFixed(3)}`,
  );
}
if (plot) {
  await writeFile(
    plot,
    accuracySVG(plotSeries(points), title ?? `Accuracy vs test-time compute (${[...n][0]} questions)`),
  );
  console.log(`wrote ${plot}`);
}
