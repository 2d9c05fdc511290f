// The distillation pair's figures (issue #18): both students (scripts/train-distill.mjs --arm kd
// and --arm sft) on the v2 held-out set, the paired difference kd - sft with a 95% interval (same
// items), and each student as a speculative-decoding draft of the teacher (greedy, not timed:
// acceptance and target steps; the timing is bench/speculative.ts under /work/notes/quiet.sh).
//   node scripts/train-distill-compare.mjs [--kd build/train/distill-kd/student-kd-q8_0.gguf]
//     [--sft build/train/distill-sft/student-sft-q8_0.gguf] [--teacher models/edgellm-default-q8_0.gguf]
//     [--n 300] [--data u|e] [--eval-only kd|sft] [--label-kd KD] [--label-sft "SFT only"] [--accept-n 40] [--max-draft 4] [--work build/train/distill-eval] [--json out.json]
// Each eval is saved in WORK (eval-ARM-N.json) and reused on a rerun. Also, teacher-forced on the
// student data's validation split (--val-rows windows of 512 tokens, assistant tokens only): each
// student's gold-token NLL and top-1 accuracy, and its KL(teacher || student) and top-1 agreement
// with the teacher (the F32 files next to the Q8_0 ones).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { loadLLM } = await imp("src/engine/llm.js");
const { arithmeticTestItems, evalArithmetic, formatArithReport } = await imp("src/train/eval/arithmetic.js");
const { studentData, V2_MODEL_DATA } = await imp("src/train/presets.js");
const { importGGUF } = await imp("src/train/import.js");
const { buildVocab } = await imp("src/train/bpe/vocab.js");
const { generateDataset } = await imp("src/train/data/generate.js");
const { tokenizeExamples } = await imp("src/train/batches.js");
const { ShardedModel } = await imp("src/train/parallel/sharded.js");

const a = process.argv.slice(2);
const opt = (k, d) => (a.includes(k) ? a[a.indexOf(k) + 1] : d);
const models = {
  kd: opt("--kd", "build/train/distill-kd/student-kd-q8_0.gguf"),
  sft: opt("--sft", "build/train/distill-sft/student-sft-q8_0.gguf"),
};
const teacher = opt("--teacher", "models/edgellm-default-q8_0.gguf");
const n = Number(opt("--n", "300"));
const acceptN = Number(opt("--accept-n", "40"));
const maxDraft = Number(opt("--max-draft", "4"));
const work = opt("--work", "build/train/distill-eval");
const threads = Number(opt("--threads", "1"));
mkdirSync(work, { recursive: true });
const items = arithmeticTestItems(n, { data: V2_MODEL_DATA });
let studentConfig; // the student data whose validation split the token metrics read
try {
  studentConfig = studentData(opt("--data", "u"));
} catch (e) {
  console.error(`--data: ${e.message}`);
  process.exit(2);
}

// --eval-only ARM: just that arm's held-out eval (saved for the full run later), then stop
const only = opt("--eval-only");
const evals = {};
for (const [arm, file] of Object.entries(models)) {
  if (only && arm !== only) continue;
  const out = path.join(work, `eval-${arm}-${n}.json`);
  if (existsSync(out)) {
    evals[arm] = JSON.parse(readFileSync(out, "utf8"));
    continue;
  }
  const llm = await loadLLM(file, { kernels: "wasm", threads, parallel: 4 });
  try {
    const r = await evalArithmetic(llm, items, { maxTokens: 1000 });
    process.stdout.write(`${arm}: ${file}\n${formatArithReport(r)}`);
    evals[arm] = {
      file,
      total: r.total,
      byKind: r.byKind,
      byKindDigits: r.byKindDigits,
      seconds: r.seconds,
      ok: r.results.map((x) => x.got === x.answer),
      kind: r.results.map((x) => x.kind),
      digits: r.results.map((x) => x.digits),
    };
    writeFileSync(out, JSON.stringify(evals[arm]));
  } finally {
    await llm.close();
  }
}

if (only) process.exit(0);

// Paired difference on the same items: mean of (kd ok - sft ok), normal interval on that mean.
function paired(sel) {
  const d = [];
  for (let i = 0; i < items.length; i++) if (sel(i)) d.push(Number(evals.kd.ok[i]) - Number(evals.sft.ok[i]));
  const m = d.length;
  const mean = d.reduce((s, x) => s + x, 0) / m;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, m - 1));
  const half = (1.96 * sd) / Math.sqrt(m);
  return { n: m, mean, half, gained: d.filter((x) => x > 0).length, lost: d.filter((x) => x < 0).length };
}
const count = (arm, sel) => {
  let c = 0;
  let t = 0;
  for (let i = 0; i < items.length; i++)
    if (sel(i)) {
      t++;
      c += evals[arm].ok[i] ? 1 : 0;
    }
  return `${c}/${t}`;
};
const kinds = [...new Set(evals.kd.kind)].sort();
const rows = [
  ["all", () => true],
  ...kinds.map((k) => [k, (i) => evals.kd.kind[i] === k]),
  ["× operands ≤ 2 digits", (i) => evals.kd.kind[i] === "mul" && evals.kd.digits[i] <= 2],
  ["× a 3-digit operand", (i) => evals.kd.kind[i] === "mul" && evals.kd.digits[i] >= 3],
];
const [labelKd, labelSft] = [opt("--label-kd", "KD"), opt("--label-sft", "SFT only")];
const pts = (x) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}`;
const table = [
  `| v2 held-out (n ${n}) | ${labelSft} | ${labelKd} | ${labelKd} − ${labelSft}, points (95% CI) | gained / lost |`,
  "|---|---|---|---|---|",
];
const summary = {};
for (const [name, sel] of rows) {
  const p = paired(sel);
  summary[name] = { sft: count("sft", sel), kd: count("kd", sel), ...p };
  table.push(
    `| ${name} | ${count("sft", sel)} | ${count("kd", sel)} | ${pts(p.mean)} (${pts(p.mean - p.half)} to ${pts(p.mean + p.half)}) | ${p.gained} / ${p.lost} |`,
  );
}
console.log(table.join("\n"));

// Each student as the teacher's draft: greedy over the first acceptN held-out items, one at a time.
const accept = {};
if (acceptN > 0) {
  const qs = items.slice(0, acceptN);
  const plain = await loadLLM(teacher, { kernels: "wasm", threads, parallel: 1 });
  const want = [];
  let plainTokens = 0;
  try {
    for (const it of qs) {
      const c = await plain.complete(
        { messages: [{ role: "user", content: it.question }] },
        { temperature: 0, maxTokens: 600 },
      );
      want.push(c.choices[0].text);
      plainTokens += c.usage.completionTokens;
    }
  } finally {
    await plain.close();
  }
  for (const [arm, file] of Object.entries(models)) {
    const llm = await loadLLM(teacher, { kernels: "wasm", threads, parallel: 1, draft: file });
    try {
      const s0 = llm.stats();
      let same = 0;
      for (let i = 0; i < qs.length; i++) {
        const c = await llm.complete(
          { messages: [{ role: "user", content: qs[i].question }] },
          { temperature: 0, maxTokens: 600, speculative: { method: "draft", maxDraft } },
        );
        if (c.choices[0].text === want[i]) same++;
      }
      const s1 = llm.stats();
      const drafted = s1.draftTokens - s0.draftTokens;
      const accepted = s1.acceptedDraftTokens - s0.acceptedDraftTokens;
      accept[arm] = {
        drafted,
        accepted,
        rate: accepted / drafted,
        targetSteps: s1.steps - s0.steps,
        draftForwards: s1.draftForwards - s0.draftForwards,
        tokens: plainTokens,
        sameOutput: `${same}/${qs.length}`,
      };
      console.log(
        `draft ${arm}: ${acceptN} held-out items, max draft ${maxDraft}: accepted ${accepted}/${drafted} (${((100 * accepted) / drafted).toFixed(1)}%), ` +
          `${s1.steps - s0.steps} target steps for ${plainTokens} tokens, ${s1.draftForwards - s0.draftForwards} draft forwards, same greedy output ${same}/${qs.length}`,
      );
    } finally {
      await llm.close();
    }
  }
}
// Teacher-forced token metrics on the validation split (no generation).
const valRows = Number(opt("--val-rows", "64"));
const tokens = {};
if (valRows > 0) {
  const f32 = (f) => f.replace(/-q8_0\.gguf$/, "-f32.gguf");
  const tch = await importGGUF(f32(teacher));
  const vocab = buildVocab(tch.bpe);
  const val = tokenizeExamples(generateDataset(studentConfig).val, vocab.encoder, vocab.pad);
  const [B, T, V] = [4, 512, tch.config.vocab];
  const nets = { teacher: tch };
  for (const [arm, file] of Object.entries(models)) nets[arm] = await importGGUF(f32(file));
  const live = {};
  for (const [k, m] of Object.entries(nets)) {
    live[k] = await ShardedModel.create(m.config, B, T, { threads });
    live[k].params.set(m.params);
    tokens[k] = { positions: 0, nll: 0, top1: 0, kl: 0, agree: 0 };
  }
  const rows = Math.min(valRows, Math.floor((val.ids.length - 1) / T));
  try {
    for (let r0 = 0; r0 + B <= rows; r0 += B) {
      const tok = val.ids.slice(r0 * T, (r0 + B) * T);
      const tgt = val.ids.slice(r0 * T + 1, (r0 + B) * T + 1);
      const mask = val.train.slice(r0 * T + 1, (r0 + B) * T + 1);
      const probs = {};
      for (const k of Object.keys(live)) probs[k] = await live[k].probs(tok, 1);
      const argmax = (p, o) => {
        let best = 0;
        for (let i = 1; i < V; i++) if (p[o + i] > p[o + best]) best = i;
        return best;
      };
      for (let nPos = 0; nPos < B * T; nPos++) {
        if (!mask[nPos]) continue;
        const o = nPos * V;
        const tTop = argmax(probs.teacher, o);
        for (const k of Object.keys(live)) {
          const p = probs[k];
          const e = tokens[k];
          e.positions++;
          e.nll -= Math.log(Math.max(p[o + tgt[nPos]], 1e-30));
          const top = argmax(p, o);
          if (top === tgt[nPos]) e.top1++;
          if (top === tTop) e.agree++;
          for (let i = 0; i < V; i++) {
            const q = probs.teacher[o + i];
            if (q > 0) e.kl += q * Math.log(q / Math.max(p[o + i], 1e-30));
          }
        }
      }
    }
  } finally {
    for (const m of Object.values(live)) await m.close();
  }
  for (const [k, e] of Object.entries(tokens))
    console.log(
      `${k.padEnd(8)} val (${e.positions} assistant tokens): gold NLL ${(e.nll / e.positions).toFixed(4)}, top-1 ${((100 * e.top1) / e.positions).toFixed(2)}%, ` +
        `KL(teacher||it) ${(e.kl / e.positions).toFixed(4)}, top-1 = teacher's ${((100 * e.agree) / e.positions).toFixed(2)}%`,
    );
}
const j = opt("--json");
if (j) writeFileSync(j, JSON.stringify({ n, summary, accept, maxDraft, acceptN, tokens }, null, 1));
