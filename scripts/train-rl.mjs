// Reasoning stages on an SFT'd default model (after `npm run train:v2`):
//   node scripts/train-rl.mjs grpo --init build/train/v2/out/edgellm-v2-f32.gguf [--steps 40] [--resume]
//   node scripts/train-rl.mjs rs   --init ... [--steps 200]
// work directory build/train/<stage>; GRPO checkpoints every step (grpo.ckpt), --resume continues.
// --export-checkpoint: write the run's latest checkpoint as GGUFs (<work>/<stage>-step-*.gguf) and exit.
// --temperature T (sampling, default 1); --filter N: probe the first N prompts with G samples and
// train only on those with mixed rewards (saved in <work>/mixed-prompts.json, reused on --resume).
// --curriculum hints: the reverse curriculum of hints (src/train/rl/curriculum.ts) over --prompts worked
// problems of the training split (--hard: × with 2+-digit factors and word problems only); --data v2units
// takes problems and workings from the v2units corpus (the × run format the v2units models write); every
// problem is checked to be in the training split of the eval's v2 corpus too; --data v2unitsM: v2unitsM's
// corpus (+ − up to 6 digits, × up to 3×3). --snapshot-every N keeps
// <work>/grpo-s<step>.ckpt copies (export one with --export-checkpoint --checkpoint <file>).
// --hint-start F: the first hint as a share of the longest (0..1, default 0).
// --rows N: training rows per step (mixed groups beyond them are dropped); --beta B: the KL coefficient
// (default 0.04; 0 skips the reference and old-policy forwards).
// --shapes 3x2,3x1,word2: only prompts of these shapes (src/train/rl/shapes.ts); with --filter N,
// --band lo,hi keeps the mixed prompts of the shapes whose probed pass rate lies in [lo, hi] (the probe
// prints each shape's rate). --inner N: N clipped-ratio updates per sampled batch (PPO-style reuse).
// --warmup N: linear LR warmup over the first N optimiser updates.
// The held-out curve of a run's snapshots: scripts/rl-curve.mjs <work>.
// Defaults: GRPO 4 prompts x 8 samples per step on × and word problems of the v2 training split,
// lr 2e-5, 320 completion tokens; RS: 8 samples per prompt, SFT on the verified ones.
import path from "node:path";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { runStage, exportCheckpoint } = await imp("src/train/rl/stages.js");
const { V2_MODEL_DATA, V2UNITS_DATA, PRESETS } = await imp("src/train/presets.js");
const { parseShapes, parseBand } = await imp("src/train/rl/shapes.js");
const a = process.argv.slice(2);
const stage = a[0];
if (stage !== "grpo" && stage !== "rs") throw new Error("usage: train-rl.mjs grpo|rs --init file.gguf [...]");
const opt = (k, d) => (a.includes(k) ? a[a.indexOf(k) + 1] : d);
if (a.includes("--export-checkpoint")) {
  // the latest checkpoint of a run (e.g. one stopped early) as <work>/<stage>-step-f32/q8_0.gguf
  const work = opt("--work", `build/train/${stage}`);
  const files = await exportCheckpoint(
    opt("--init", "build/train/v2/out/edgellm-v2-f32.gguf"),
    opt("--checkpoint", path.join(work, `${stage}.ckpt`)),
    opt("--checkpoint", path.join(work, `${stage}-step`)).replace(/\.ckpt$/, ""),
  );
  console.log(files.join("\n"));
  process.exit(0);
}
const dataName = opt("--data", "v2");
const DATA = { v2: V2_MODEL_DATA, v2units: V2UNITS_DATA, v2unitsM: PRESETS.v2unitsM.data };
if (!DATA[dataName])
  throw new Error(`--data must be one of ${Object.keys(DATA).join(", ")}, got '${dataName}'`);
const curriculum = opt("--curriculum", undefined);
if (curriculum !== undefined && curriculum !== "hints")
  throw new Error(`--curriculum must be hints, got '${curriculum}'`);
const t0 = Date.now();
const files = await runStage({
  stage,
  init: opt("--init", "build/train/v2/out/edgellm-v2-f32.gguf"),
  workDir: opt("--work", `build/train/${stage}`),
  data: DATA[dataName],
  heldOut: V2_MODEL_DATA,
  curriculum,
  hard: a.includes("--hard"),
  snapshotEvery: Number(opt("--snapshot-every", "0")),
  hintStart: Number(opt("--hint-start", "0")),
  rows: a.includes("--rows") ? Number(opt("--rows")) : undefined,
  beta: a.includes("--beta") ? Number(opt("--beta")) : undefined,
  kinds: opt("--kinds", "mul,word").split(","),
  shapes: a.includes("--shapes") ? parseShapes(opt("--shapes")) : undefined,
  band: a.includes("--band") ? parseBand(opt("--band")) : undefined,
  inner: Number(opt("--inner", "1")),
  warmup: Number(opt("--warmup", "0")),
  prompts: Number(opt("--prompts", "2000")),
  steps: Number(opt("--steps", stage === "grpo" ? "40" : "200")),
  promptsPerStep: Number(opt("--prompts-per-step", "4")),
  group: Number(opt("--group", "8")),
  lr: Number(opt("--lr", stage === "grpo" ? "2e-5" : "1e-4")),
  maxTokens: Number(opt("--max-tokens", "320")),
  seqLen: Number(opt("--seq-len", "448")),
  seed: Number(opt("--seed", "1")),
  threads: Number(opt("--threads", "2")),
  resume: a.includes("--resume"),
  temperature: Number(opt("--temperature", "1")),
  filter: Number(opt("--filter", "0")),
  log: (s) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${s}`),
});
console.log(files.join("\n"));
