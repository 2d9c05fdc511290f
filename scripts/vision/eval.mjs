// Evaluate the tiny vision model on rendered problems (scripts/vision/render.mjs DIR N SEED:
// held-out fonts and positions, labels.json beside the PNGs): for each image, the encoder's rows
// go into the chat before the question, the language model answers greedily, and we count
//   transcribed: the first line of its <think> restates the problem (same operands and operator;
//                a zero-padded operand counts, as the model pads the shorter one), and
//   solved:      "The answer is N" with N the true result.
// Also: the encoder alone (each row's nearest cell-token embedding vs the label cells).
//   node scripts/vision/eval.mjs --lm LM.gguf --mmproj MMPROJ.gguf --dir DIR [--n N] [--prompt "Solve this"]
// --oracle: the language model alone, fed the label cells' token embeddings instead of the encoder's rows.
// --cells-only: the encoder alone (no generation).
// --json OUT: per-image outcomes ("1"/"0" per image, in order) of cells exact, transcribed and solved,
// for paired comparisons; --compare BASE.json (written by --json on the same --dir and --n): the
// exact McNemar test of each rate against that run, with Wilson 95% intervals.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadLLM, MEDIA_MARKER } from "../../dist/src/engine/llm.js";
import { loadVision, encodeImageFiles } from "../../dist/src/cli/image-options.js";
import { openGGUF } from "../../dist/src/gguf/reader.js";
import { mcnemarExact, wilson95 } from "../../dist/src/reasoning/eval.js";

const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const dir = opt("--dir");
const prompt = opt("--prompt", "Solve this");
const labels = JSON.parse(readFileSync(join(dir, "labels.json"), "utf8")).slice(0, Number(opt("--n", 1e9)));
const llm = await loadLLM(opt("--lm"), { parallel: 1 });
const oracle = args.includes("--oracle");
const vm = oracle ? undefined : await loadVision(opt("--mmproj"), llm);
const g = await openGGUF(opt("--lm"));
const E = new Float32Array((await g.readTensor("token_embd.weight")).slice().buffer);
await g.close();
const D = llm.model.config.nEmbd;
const CELL_TEXT = { " ": " ", "+": " +", "-": " -" };
for (let d = 0; d < 10; d++) CELL_TEXT[String(d)] = String(d);
const cands = Object.entries(CELL_TEXT).map(([c, t]) => [
  c,
  llm.tokenizer.encode(t, { addSpecial: false })[0],
]);
const nearest = (row) => {
  let best = "";
  let bd = Infinity;
  for (const [c, id] of cands) {
    let s = 0;
    for (let i = 0; i < D; i++) s += (row[i] - E[id * D + i]) ** 2;
    if (s < bd) [bd, best] = [s, c];
  }
  return best;
};
let cellsOk = 0;
// --cells-only error analysis: each wrong cell is a miss (glyph read as blank), a spurious glyph
// (blank read as a glyph), a shift (a miss whose glyph was read in a neighbouring cell), or a
// misread (one glyph read as another); and exact rates per font and size.
const errs = { miss: 0, spurious: 0, shift: 0, misread: 0 };
const groups = new Map();
const tally = (L, cells, want) => {
  const G = 8;
  for (let i = 0; i < want.length; i++) {
    if (cells[i] === want[i]) continue;
    if (want[i] !== " " && cells[i] === " ") {
      const r = Math.floor((i + 1) / G);
      const c = (i + 1) % G;
      const near = [
        [r, c - 1],
        [r, c + 1],
        [r - 1, c],
        [r + 1, c],
      ].some(([y, x]) => {
        const j = y * G + x - 1;
        return x >= 0 && x < G && j >= 0 && j < want.length && cells[j] === want[i] && want[j] === " ";
      });
      errs[near ? "shift" : "miss"]++;
    } else if (want[i] === " ") errs.spurious++;
    else errs.misread++;
  }
  for (const k of [`font ${L.font}`, `size ${L.size}`]) {
    const g = groups.get(k) ?? [0, 0];
    g[0] += cells === want ? 1 : 0;
    g[1]++;
    groups.set(k, g);
  }
};
let transcribed = 0;
let solved = 0;
// per-cell counts (glyph cells and blank cells) and per-image outcome strings
const cellCount = { glyph: [0, 0], blank: [0, 0] };
const outcomes = { cells: "", transcribed: "", solved: "" };
const misses = [];
for (const L of labels) {
  const want = `${L.cells.slice(1)} `;
  let m;
  if (oracle) {
    const data = new Float32Array(want.length * D);
    [...want].forEach((c, t) => {
      const id = cands.find(([k]) => k === c)[1];
      data.set(E.subarray(id * D, id * D + D), t * D);
    });
    m = { data, nTokens: want.length, key: `oracle:${L.file}` };
  } else [m] = await encodeImageFiles([join(dir, L.file)], vm);
  let cells = "";
  for (let t = 0; t < m.nTokens; t++) cells += nearest(m.data.subarray(t * D, t * D + D));
  // llama.cpp's LLaVA graph keeps rows 1..n of [patches, class]: patches 1..63, then the class
  // row (trained blank), so the rows read cells 1..63 and a blank.
  if (cells === want) cellsOk++;
  outcomes.cells += cells === want ? "1" : "0";
  for (let i = 0; i < want.length; i++) {
    const k = cellCount[want[i] === " " ? "blank" : "glyph"];
    k[0] += cells[i] === want[i] ? 1 : 0;
    k[1]++;
  }
  if (args.includes("--cells-only")) {
    tally(L, cells, want);
    if (cells !== want) misses.push(`${L.file} ${L.a} ${L.op} ${L.b} (${L.font} ${L.size}): cells "${cells.trim().replace(/ +/g, " ")}"`);
    continue;
  }
  const p = llm.encodeChatMedia([{ role: "user", content: MEDIA_MARKER + prompt }], [m]);
  let out = "";
  for await (const c of llm.generate(p.tokens, { media: p.media, maxTokens: 400, temperature: 0 }))
    out += c.text;
  const first = (out.match(/<think>\n([^\n]*)/) ?? [])[1] ?? "";
  const r = first.match(/(\d+) ([+-]) (\d+)/);
  const tOk = !!r && Number(r[1]) === L.a && r[2] === L.op && Number(r[3]) === L.b;
  const result = L.op === "+" ? L.a + L.b : L.a - L.b;
  const ans = out.match(/answer is (-?\d+)/);
  const sOk = !!ans && Number(ans[1]) === result;
  transcribed += tOk ? 1 : 0;
  solved += sOk ? 1 : 0;
  outcomes.transcribed += tOk ? "1" : "0";
  outcomes.solved += sOk ? "1" : "0";
  if (!tOk || !sOk)
    misses.push(
      `${L.file} ${L.a} ${L.op} ${L.b} (${L.font} ${L.size}): think "${first}" answer ${ans?.[1]} cells ${cells === want ? "ok" : `"${cells.trim().replace(/ +/g, " ")}"`}`,
    );
}
const n = labels.length;
const pct = (k) => `${k}/${n} (${((100 * k) / n).toFixed(1)}%)`;
console.log(`images ${n} (${dir}), prompt ${JSON.stringify(prompt)}`);
console.log(`encoder cells exact: ${pct(cellsOk)}`);
const cellPct = ([ok, all]) => `${ok}/${all} (${((100 * ok) / all).toFixed(2)}%)`;
console.log(`  per cell: glyph cells right ${cellPct(cellCount.glyph)}, blank cells right ${cellPct(cellCount.blank)}`);
console.log(`transcribed exactly: ${pct(transcribed)}`);
console.log(`solved:              ${pct(solved)}`);
if (args.includes("--cells-only")) {
  console.log(`wrong cells: ${Object.entries(errs).map(([k, v]) => `${k} ${v}`).join(", ")} (a shift counts its spurious twin too)`);
  for (const [k, [ok, all]] of [...groups].sort()) console.log(`  ${k}: ${ok}/${all}`);
}
if (opt("--json"))
  writeFileSync(
    opt("--json"),
    JSON.stringify({ dir, n, lm: opt("--lm"), mmproj: oracle ? "oracle" : opt("--mmproj"), outcomes }),
  );
if (opt("--compare")) {
  const base = JSON.parse(readFileSync(opt("--compare"), "utf8"));
  if (base.dir !== dir || base.n !== n) throw new Error(`--compare: ${opt("--compare")} is of ${base.dir} n ${base.n}`);
  const ci = (k) => wilson95(k, n).map((x) => (100 * x).toFixed(1)).join("-");
  for (const k of ["cells", "transcribed", "solved"]) {
    const a = outcomes[k];
    const b = base.outcomes[k];
    if (!a || !b) continue;
    const ones = (s) => [...s].filter((c) => c === "1").length;
    const m = mcnemarExact(a, b);
    console.log(
      `vs ${opt("--compare")} ${k}: ${ones(a)} [${ci(ones(a))}%] vs ${ones(b)} [${ci(ones(b))}%]; ` +
        `only this run ${m.onlyA}, only base ${m.onlyB}, exact McNemar p = ${m.p.toPrecision(3)}`,
    );
  }
}
for (const m of misses.slice(0, Number(opt("--show", 10)))) console.log(`  miss ${m}`);
await llm.close();
