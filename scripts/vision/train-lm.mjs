// The language-model half of the tiny vision model: the default model fine-tuned (all weights,
// warm start, WASM training kernels) to read a problem given as the encoder's 64 cell rows — a
// glyph token (digits, " +", " -") or a blank (" ") per 8 x 8 cell, in reading order — and solve
// it with its usual <think> column computation; 30% of the examples are the usual text questions,
// so the text skill stays. Problems come from src/train/vision/render.ts (training fonts and
// positions only).
//
//   node scripts/vision/train-lm.mjs OUT_DIR [--examples 8000] [--steps N] [--base LM.gguf]
//        [--mmproj MMPROJ.gguf] [--resume]
// Without --mmproj the image rows are the exact token embeddings of the true cells. With it, each
// problem is drawn as an image and the rows are that encoder's own output for it (llama.cpp's
// rows 1..64: cells 1..63 and the class row), so the language model learns to read the rows the
// encoder really gives.
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
import { Rng, hash32 } from "../../dist/src/sampling/rng.js";
import { GlyphAtlas, sampleProblem, drawProblem, IMAGE_SIZE } from "../../dist/src/train/vision/render.js";
import { openVisionModel } from "../../dist/src/vision/index.js";
import { createWasmKernelSet } from "../../dist/src/kernels/wasm/wasm-kernel-set.js";

const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const [out] = args;
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
/** Cell characters -> the token each cell's row stands for. */
const CELL_TOKEN = { " ": one(" "), "+": one(" +"), "-": one(" -") };
for (let d = 0; d < 10; d++) CELL_TOKEN[String(d)] = one(String(d));
// Cells travel through the text as private-use characters, mapped to their ids by `enc`; with an
// encoder each one also takes the next of the example's image rows (`pendingRows`).
const PUA = 0xe000;
const cellChars = Object.keys(CELL_TOKEN);
const rowOf = [];
const rowData = [];
let queue = null;
let pendingAt = 0;
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
        while (rowOf.length < outIds.length) rowOf.push(-1);
        if (queue) {
          // the examples' images in order, each one's rows consumed by its 64 cell characters
          const img = queue[0];
          rowOf.push(rowData.length);
          rowData.push(img.subarray(pendingAt * E, (pendingAt + 1) * E));
          if (++pendingAt * E === img.length) {
            queue.shift();
            pendingAt = 0;
          }
        } else rowOf.push(-1);
        outIds.push(CELL_TOKEN[cellChars[c]]);
      } else buf += ch;
    }
    flush();
    return outIds;
  },
};
const E = f.tensors.find((t) => t.name === "token_embd.weight").dims[0];
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
const atlasPrefix = opt("--atlas", "build/vision/atlas");
const atlas = new GlyphAtlas(
  JSON.parse(readFileSync(`${atlasPrefix}.json`, "utf8")),
  new Uint8Array(readFileSync(`${atlasPrefix}.bin`)),
);
const vm = opt("--mmproj") ? await openVisionModel(opt("--mmproj"), await createWasmKernelSet({ threads: 1 })) : null;
const nExamples = Number(opt("--examples", 8000));
const rng = new Rng(11);
const examples = [];
const imageRows = [];
for (let i = 0; i < nExamples; i++) {
  const r = new Rng(hash32(`vision-lm:${opt("--data-seed", 101)}:${i}`));
  const P = sampleProblem(atlas, r, "train");
  const p = arithmeticProblem(rng, P.op, P.a, P.b, "en");
  let user;
  let rows = null;
  if (rng.uniform() < 0.3) user = p.user;
  else {
    // the rows llama.cpp gives: cells 1..63, then the class row (trained blank)
    const cells = `${P.cells.slice(1)} `;
    if (vm) {
      const e = vm.encodeImage({ width: IMAGE_SIZE, height: IMAGE_SIZE, data: drawProblem(atlas, r, P.placed) });
      if (e.nTokens !== cells.length) throw new Error(`encoder gave ${e.nTokens} rows, expected ${cells.length}`);
      rows = e.data;
    }
    user = [...cells].map((c) => String.fromCodePoint(PUA + cellChars.indexOf(c))).join("") + SUFFIX[Math.floor(rng.uniform() * SUFFIX.length)];
  }
  examples.push({
    messages: [
      { role: "user", content: user },
      { role: "assistant", content: p.assistant },
    ],
  });
  imageRows.push(rows);
}
if (vm) queue = imageRows.filter((r) => r !== null);
const data = tokenizeExamples(examples, enc, Math.max(0, tok.eos));
if (vm) {
  if (queue.length) throw new Error(`${queue.length} images left unread`);
  while (rowOf.length < data.ids.length) rowOf.push(-1);
  const rows = new Float32Array(rowData.length * E);
  rowData.forEach((r, k) => rows.set(r, k * E));
  Object.assign(data, { rowOf: Int32Array.from(rowOf), rows, rowWidth: E });
  console.log(`${rowData.length} encoder rows`);
}
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
