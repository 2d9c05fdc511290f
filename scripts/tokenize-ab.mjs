// Tokenizer speed of two built checkouts, A/B in one process: `node scripts/tokenize-ab.mjs
// ROOT_A ROOT_B [--rounds 7] [vocab ...]` (vocabularies of test/tokenizer/helpers.ts, default
// llama3 (BPE) and llama2 (SPM)). Each round encodes the 1 MB text of mostly distinct
// pseudo-words (test/tokenizer/megabyte.ts: per-word caches barely help, so the merge loops are
// timed) with a fresh Tokenizer of A and of B, in the order A B then B A, timing process CPU time.
// Ids must be equal between A and B (checked). Prints per vocabulary the median ms of each side
// and the median of the per-round ratios B/A of time.
import path from "node:path";
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import { abRounds, median } from "./ab-rounds.mjs";

const args = process.argv.slice(2);
const ri = args.indexOf("--rounds");
const rounds = ri >= 0 ? Number(args.splice(ri, 2)[1]) : 7;
const [rootA, rootB, ...names] = args;
if (!rootA || !rootB) {
  console.error("usage: tokenize-ab.mjs ROOT_A ROOT_B [--rounds N] [vocab ...]");
  process.exit(2);
}
const vocabs = names.length > 0 ? names : ["llama3", "llama2"];
const load = async (root, p) => import(pathToFileURL(path.resolve(root, "dist", p)).href);
const { convertVocab } = await load(rootB, "test/tokenizer/helpers.js");
const { variedMegabyteText } = await load(rootB, "test/tokenizer/megabyte.js");
const TA = (await load(rootA, "src/tokenizer/tokenizer.js")).Tokenizer;
const TB = (await load(rootB, "src/tokenizer/tokenizer.js")).Tokenizer;
const text = variedMegabyteText();

for (const name of vocabs) {
  const rec = convertVocab(name);
  const time = (T) => {
    const tok = T.fromMetadata(rec);
    const c0 = process.cpuUsage();
    const ids = tok.encode(text);
    const c = process.cpuUsage(c0);
    return { ms: (c.user + c.system) / 1000, ids };
  };
  time(TA); // warm-up
  time(TB);
  const check = (x, y) => {
    if (x.ids.length !== y.ids.length || x.ids.some((id, k) => id !== y.ids[k]))
      throw new Error(`${name}: ids differ between A and B`);
  };
  let last = null;
  const run = (T) => () => {
    const res = time(T);
    if (last) check(last, res);
    last = res;
    return res.ms;
  };
  const { ta, tb, ratio: r } = abRounds(rounds, run(TA), run(TB));
  console.log(
    `${name}: A ${median(ta).toFixed(0)} ms, B ${median(tb).toFixed(0)} ms (CPU, median of ${rounds}); B/A time median ${median(r).toFixed(3)} (rounds ${r.map((x) => x.toFixed(2)).join(" ")})`,
  );
}
console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
