// The encoder half of the tiny vision model, trained on the TypeScript training stack
// (src/train/vision: ViT + mlp projector, hand-written backward checked by finite differences,
// AdamW, checkpoints, progress): each 8 x 8 cell's row learns the language model's input
// embedding of the token the cell stands for (a glyph's token, or " " for a blank). Images are
// drawn on the fly (src/train/vision/render.ts, training fonts and positions only).
//
//   node scripts/vision/train-encoder.mjs LM.gguf OUT_DIR STEPS [--resume] [--init MMPROJ.gguf]
//        [--batch 32] [--lr 2e-3] [--lambda 4] [--glyph-weight 8] [--seed 1] [--stop-at N]
//        [--atlas build/vision/atlas] [--kernels wasm|ts] [--layers 3] [--ffn 256]
//        [--metric dot|dist] [--tau 8]
// Writes OUT_DIR/encoder.ckpt (every 25 steps; --resume continues it bit-exactly), a log line
// every 10 steps, and OUT_DIR/mmproj-f32.gguf at the end (scripts/vision/export.mjs writes one
// from any checkpoint). --init warm-starts from an mmproj; one with fewer blocks or a narrower FFN
// than --layers/--ffn is grown to them first (same function: new residual products start at zero).
// --metric dist: the CE's logits are -tau * squared distances to the candidates (src/train/vision/loss.ts)
// instead of dot products, so it picks the nearest candidate, as the rows are read.
import { readFileSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { openGGUF } from "../../dist/src/gguf/reader.js";
import { dequantizeRows } from "../../dist/src/quant/index.js";
import { Tokenizer } from "../../dist/src/tokenizer/tokenizer.js";
import { Rng } from "../../dist/src/sampling/rng.js";
import { trainVit } from "../../dist/src/train/vision/train.js";
import { readVitMmprojGrown, writeVitMmproj } from "../../dist/src/train/vision/mmproj.js";
import {
  CELL_CHARS,
  CELL_TEXT,
  GlyphAtlas,
  drawProblem,
  normalizeRgb,
  sampleProblem,
  IMAGE_SIZE,
  CELL,
} from "../../dist/src/train/vision/render.js";

const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const [lmPath, out, stepsArg] = args;
if (!lmPath || !out || !stepsArg) {
  console.error("usage: node scripts/vision/train-encoder.mjs LM.gguf OUT_DIR STEPS [--resume] [--init MMPROJ]");
  process.exit(1);
}
mkdirSync(out, { recursive: true });
const MEAN = 0.5;
const STD = 0.5;

// Candidate embeddings: the language model's input rows of the cell tokens.
const f = await openGGUF(lmPath);
const tok = Tokenizer.fromMetadata(f.metadata);
const te = f.tensors.find((t) => t.name === "token_embd.weight");
const E = te.dims[0];
const Eall = dequantizeRows(te.type, await f.readTensor(te), te.nElements);
await f.close();
const candidates = new Float32Array(CELL_CHARS.length * E);
CELL_CHARS.forEach((c, k) => {
  const ids = tok.encode(CELL_TEXT[c], { addSpecial: false });
  if (ids.length !== 1) throw new Error(`cell text '${CELL_TEXT[c]}' is ${ids.length} tokens`);
  candidates.set(Eall.subarray(ids[0] * E, ids[0] * E + E), k * E);
});

const atlasPrefix = opt("--atlas", "build/vision/atlas");
const atlas = new GlyphAtlas(
  JSON.parse(readFileSync(`${atlasPrefix}.json`, "utf8")),
  new Uint8Array(readFileSync(`${atlasPrefix}.bin`)),
);
const config = {
  imageSize: IMAGE_SIZE,
  patchSize: CELL,
  dim: 64,
  heads: 4,
  ffn: Number(opt("--ffn", 256)),
  layers: Number(opt("--layers", 3)),
  mmHidden: 128,
  projDim: E,
  eps: 1e-5,
};
const sample = (rng, pixels, at) => {
  const p = sampleProblem(atlas, rng, "train");
  normalizeRgb(drawProblem(atlas, rng, p.placed), IMAGE_SIZE, MEAN, STD, pixels, at);
  return Int32Array.from([...p.cells], (c) => CELL_CHARS.indexOf(c));
};
const ck = join(out, "encoder.ckpt");
const steps = Number(stepsArg);
const init = opt("--init") ? await readVitMmprojGrown(opt("--init"), config, new Rng(Number(opt("--seed", 1)) + 7919)) : undefined;
const hist = [];
const t0 = Date.now();
const r = await trainVit({
  config,
  candidates,
  loss: {
    lambda: Number(opt("--lambda", 4)),
    glyphWeight: Number(opt("--glyph-weight", 8)),
    blank: 0,
    ...(opt("--metric", "dot") === "dist" ? { metric: "dist", tau: Number(opt("--tau", 8)) } : {}),
  },
  sample,
  batch: Number(opt("--batch", 32)),
  steps,
  stopAt: opt("--stop-at") ? Number(opt("--stop-at")) : undefined,
  lr: { maxLr: Number(opt("--lr", 2e-3)), minLr: Number(opt("--lr", 2e-3)) / 10, warmup: Number(opt("--warmup", 50)) },
  clip: 1,
  seed: Number(opt("--seed", 1)),
  checkpointPath: ck,
  checkpointEvery: 25,
  resumeFrom: args.includes("--resume") && existsSync(ck) ? ck : undefined,
  init,
  meta: { data: "render.ts train split", atlas: atlas.index.glyphs.length, mean: MEAN, std: STD },
  kernels: opt("--kernels", "wasm"),
  progress: true,
  onStep(s) {
    hist.push(s);
    if (s.step % 10 === 0 || s.step === steps) {
      const h = hist.splice(0);
      const m = (k) => h.reduce((a, x) => a + x[k], 0) / h.length;
      console.log(
        `step ${s.step}/${steps} loss ${m("loss").toFixed(4)} ce ${m("ce").toFixed(4)} mse ${m("mse").toFixed(5)} ` +
          `cell-acc ${m("cellAcc").toFixed(5)} exact ${m("exact").toFixed(3)} lr ${s.lr.toExponential(2)} ` +
          `${s.imagesPerSec.toFixed(1)} img/s ${((Date.now() - t0) / 1000).toFixed(0)} s`,
      );
    }
  },
});
await writeVitMmproj(join(out, "mmproj-f32.gguf"), config, Float32Array.from(r.model.params), {
  mean: MEAN,
  std: STD,
  description: `edgellm tiny vision encoder (scripts/vision/train-encoder.mjs, step ${r.step}): rendered arithmetic problems, one row per 8 x 8 cell`,
});
console.log(`done: step ${r.step}, ${r.seconds.toFixed(0)} s; wrote ${join(out, "mmproj-f32.gguf")}`);
