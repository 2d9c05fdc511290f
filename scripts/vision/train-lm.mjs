// The language-model half of the tiny vision model: the default model fine-tuned (all weights,
// warm start, WASM training kernels) to read a problem given as the encoder's 64 cell rows — a
// glyph token (digits, " +", " -") or a blank (" ") per 8 x 8 cell, in reading order — and solve
// it with its usual <think> column computation; 30% of the examples are the usual text questions,
// so the text skill stays. Layouts come from scripts/vision/render.py (training fonts/positions).
//
//   node scripts/vision/train-lm.mjs LAYOUTS.jsonl OUT_DIR [--steps N] [--resume]
// Writes OUT_DIR/lm.ckpt (every 10 steps) and OUT_DIR/edgellm-vision-lm-f32.gguf at the end.
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { openGGUF } from "../../dist/src/gguf/reader.js";
import { GGUFWriter } from "../../dist/src/gguf/writer.js";
import { copyMetadata } from "../../dist/src/gguf/copy.js";
import { GGMLType } from "../../dist/src/gguf/types.js";
import { Tokenizer } from "../../dist/src/tokenizer/tokenizer.js";
import { loadTrainBase } from "../../dist/src/train/lora.js";
import { train } from "../../dist/src/train/loop.js";
import { tokenizeExamples } from "../../dist/src/train/batches.js";
import { arithmeticProblem } from "../../dist/src/train/data/problems.js";
import { paramLayout, view } from "../../dist/src/train/model/params.js";
import { Rng } from "../../dist/src/sampling/rng.js";

const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const [layoutsPath, out] = args;
const steps = Number(opt("--steps", 400));
const base = opt("--base", "models/edgellm-default-f32.gguf");
mkdirSync(out, { recursive: true });

const f = await openGGUF(base);
const tok = Tokenizer.fromMetadata(f.metadata);
const one = (s) => {
  const ids = tok.encode(s, { addSpecial: false });
  if (ids.length !== 1) throw new Error(`'${s}' is ${ids.length} tokens`);
  return ids[0];
};
/** Cell characters -> the token each cell's row stands for (exported for the encoder side too). */
export const CELL_TOKEN = { " ": one(" "), "+": one(" +"), "-": one(" -") };
for (let d = 0; d < 10; d++) CELL_TOKEN[String(d)] = one(String(d));
// Cells travel through the text as private-use characters, mapped to their ids by `enc`.
const PUA = 0xe000;
const cellChars = Object.keys(CELL_TOKEN);
const enc = {
  encode(text, outIds = []) {
    let buf = "";
    const flush = () => {
      if (buf) for (const id of tok.encode(buf, { addSpecial: false, parseSpecial: true })) outIds.push(id);
      buf = "";
    };
    for (const ch of text) {
      const c = ch.codePointAt(0) - PUA;
      if (c >= 0 && c < cellChars.length) {
        flush();
        outIds.push(CELL_TOKEN[cellChars[c]]);
      } else buf += ch;
    }
    flush();
    return outIds;
  },
};
const SUFFIX = [
  "",
  "",
  "Solve this",
  "Solve this.",
  "Solve this problem.",
  "What is the answer?",
  "\nSolve this",
  "Calculate this.",
];
const rng = new Rng(11);
const examples = [];
for (const line of readFileSync(layoutsPath, "utf8").split("\n")) {
  if (!line.trim()) continue;
  const L = JSON.parse(line);
  const p = arithmeticProblem(rng, L.op, L.a, L.b, "en");
  let user;
  if (rng.uniform() < 0.3) user = p.user;
  else {
    const cells = [...L.cells].map((c) => String.fromCodePoint(PUA + cellChars.indexOf(c))).join("");
    user = cells + SUFFIX[Math.floor(rng.uniform() * SUFFIX.length)];
  }
  examples.push({
    messages: [
      { role: "user", content: user },
      { role: "assistant", content: p.assistant },
    ],
  });
}
const data = tokenizeExamples(examples, enc, Math.max(0, tok.eos));
console.log(`${examples.length} examples, ${data.ids.length} tokens`);
const { config, params } = await loadTrainBase(base);
const ck = join(out, "lm.ckpt");
const r = await train({
  config,
  data,
  batch: Number(opt("--batch", 8)),
  seqLen: Number(opt("--seq-len", 256)),
  steps,
  lr: { maxLr: Number(opt("--lr", 5e-4)), minLr: 5e-5, warmup: 20 },
  clip: 1,
  seed: 5,
  checkpointPath: ck,
  checkpointEvery: 10,
  resumeFrom: args.includes("--resume") ? ck : undefined,
  progress: true,
  init: params,
  kernels: "wasm",
  threads: 2,
});
// Export: the base file's metadata with the trained tensors (F32).
const w = new GGUFWriter();
copyMetadata(f, w, (k) => k === "general.name");
w.set("general.name", "edgellm-vision-lm");
for (const e of paramLayout(config).entries) {
  const d = Float32Array.from(view(r.model.params, e));
  w.addTensor(e.name, GGMLType.F32, [...e.shape].reverse(), new Uint8Array(d.buffer));
}
await w.write(join(out, "edgellm-vision-lm-f32.gguf"));
console.log(`done: ${r.step} steps, final loss ${r.losses.at(-1)}, ${r.seconds.toFixed(0)} s`);
