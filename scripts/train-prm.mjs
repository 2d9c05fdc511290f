// The process reward model (src/train/prm.ts) in one command: labelled lines from the corpus the
// default model was trained on (v2 units: × in the run format; half the lines with one digit
// corrupted, labelled by the rule checker), each line's features from one teacher-forced pass of the
// scoring model, a class-balanced logistic head, then its agreement with the rule checker on held-out
// lines (another seed), per class.
//   nice -n 11 node scripts/train-prm.mjs [--out build/prm/prm-head.json] [--model models/edgellm-default-f32.gguf]
//        [--examples 3000] [--eval 600] [--threads 2]
// Features are cached in <out>.features.json after every chunk of 64 lines; a rerun resumes from them.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import {
  fitPrmHead,
  headProbability,
  lineFeatures,
  PrmScorer,
  prmExamples,
} from "../dist/src/train/prm.js";
import { V2UNITS_DATA } from "../dist/src/train/presets.js";

const arg = (k, d) => {
  const i = process.argv.indexOf(k);
  return i >= 0 ? process.argv[i + 1] : d;
};
const out = arg("--out", "build/prm/prm-head.json");
const model = arg("--model", "models/edgellm-default-f32.gguf");
const n = Number(arg("--examples", "3000"));
const evalN = Number(arg("--eval", "600"));
const threads = Number(arg("--threads", "2"));
await mkdir(dirname(out), { recursive: true });
const t0 = performance.now();
const scorer = await PrmScorer.load(model, { threads });
const cacheFile = `${out}.features.json`;
const key = { model, n, evalN, version: 1 };
let cache = { key, train: [], test: [] };
if (existsSync(cacheFile)) {
  const c = JSON.parse(await readFile(cacheFile, "utf8"));
  if (JSON.stringify(c.key) === JSON.stringify(key)) cache = c;
}
const CHUNK = 64;
async function features(name, examples) {
  const have = cache[name];
  for (let i = have.length; i < examples.length; i += CHUNK) {
    const part = examples.slice(i, i + CHUNK);
    const lps = await scorer.lineLogprobs(
      part.map((e) => scorer.sequence(e.question, e.lines)),
      8,
    );
    part.forEach((e, j) => have.push({ x: lineFeatures(lps[j][e.lines.length - 1]), ok: e.ok }));
    await writeFile(`${cacheFile}.tmp`, JSON.stringify(cache));
    await rename(`${cacheFile}.tmp`, cacheFile);
    console.log(
      `${name}: ${have.length}/${examples.length} lines scored, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
  }
  return have;
}
const train = await features("train", prmExamples(n, V2UNITS_DATA, 7));
// held-out lines: other problems (seed 99)
const test = await features("test", prmExamples(evalN, V2UNITS_DATA, 99));
await scorer.close();
const head = fitPrmHead(
  train.map((e) => e.x),
  train.map((e) => e.ok),
  model,
);
await writeFile(out, `${JSON.stringify(head, null, 1)}\n`);
const report = (set) => {
  let tp = 0;
  let fn = 0;
  let tn = 0;
  let fp = 0;
  for (const e of set) {
    const yes = headProbability(head, e.x) >= 0.5;
    if (e.ok) yes ? tp++ : fn++;
    else yes ? fp++ : tn++;
  }
  const all = tp + fn + tn + fp;
  const pct = (a, b) => `${((100 * a) / b).toFixed(1)}%`;
  return `${tp + tn}/${all} = ${pct(tp + tn, all)} agree with the rule checker (right lines judged right ${tp}/${tp + fn} = ${pct(tp, tp + fn)}, wrong lines judged wrong ${tn}/${tn + fp} = ${pct(tn, tn + fp)})`;
};
console.log(`head: ${head.features.map((f, i) => `${f} ${head.w[i].toFixed(2)}`).join(", ")}, bias ${head.b.toFixed(2)} -> ${out}`);
console.log(`train: ${report(train)}`);
console.log(`held-out: ${report(test)}; total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
