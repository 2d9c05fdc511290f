// Held-out greedy accuracy of a model on the v1 test set (the same items as `edgellm eval --n`),
// the v2 test set (v2 mix: more ×, one- and two-step word problems, close subtractions) and the
// issue's fresh questions:
//   node scripts/train-eval.mjs <model.gguf> [--n 500] [--set v1|v2|fresh] [--kinds mul,word] [--json out.json]
import path from "node:path";
import { writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { loadLLM } = await imp("src/engine/llm.js");
const { arithmeticTestItems, evalArithmetic, formatArithReport } = await imp("src/train/eval/arithmetic.js");
const { DEFAULT_MODEL_DATA, V2_MODEL_DATA } = await imp("src/train/presets.js");

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const model = args[0];
const n = Number(opt("--n", "500"));
const set = opt("--set", "v1");
const FRESH = [
  ["What is 8421 - 8420?", "1", "sub"],
  ["What is 36 * 7?", "252", "mul"],
  ["What is 250 * 4?", "1000", "mul"],
  ["小明有 35 个苹果，又买了 48 个，现在有多少个？", "83", "word"],
  ["What is 4821 + 377?", "5198", "add"],
  ["What is 1000 - 999?", "1", "sub"],
  ["What is 47 × 23?", "1081", "mul"],
  ["Tom has 12 apples. He buys 30 more, then gives away 5. How many apples does he have now?", "37", "word"],
  ["What is 608 × 9?", "5472", "mul"],
  ["计算 5003 - 4998。", "5", "sub"],
].map(([question, answer, kind]) => ({ question, answer, kind, digits: 0, lang: "?" }));
// --kinds mul,word: the first n test items of those categories
const kinds = opt("--kinds")?.split(",");
const items =
  set === "fresh"
    ? FRESH.filter((x) => !kinds || kinds.includes(x.kind))
    : arithmeticTestItems(n, { data: set === "v2" ? V2_MODEL_DATA : DEFAULT_MODEL_DATA, kinds });
const llm = await loadLLM(model, { kernels: "wasm", threads: Number(opt("--threads", "2")), parallel: 4 });
try {
  const r = await evalArithmetic(llm, items, { maxTokens: 1000 });
  process.stdout.write(`${model} set ${set} n ${items.length}\n` + formatArithReport(r));
  if (set === "fresh")
    for (const x of r.results) console.log(`${x.got === x.answer ? "ok " : "BAD"} ${x.question} -> ${x.got}`);
  const j = opt("--json");
  if (j)
    await writeFile(
      j,
      JSON.stringify({ ...r, results: r.results.filter((x) => x.got !== x.answer) }, null, 1),
    );
} finally {
  await llm.close();
}
