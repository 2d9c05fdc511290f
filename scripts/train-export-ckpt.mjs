// Export a training checkpoint (SFT run.ckpt or a GRPO/distill checkpoint) to GGUF F32 + Q8_0, to
// evaluate it while the run goes on:
//   node scripts/train-export-ckpt.mjs build/train/v2 [outDir] [name]
// reads <work>/run.ckpt and <work>/tokenizer.json; writes <out>/<name>-f32.gguf and -q8_0.gguf
// (default out <work>/eval, name ckpt-<step>). EDGELLM_DIST picks the build (default dist).
// A GRPO/RS work directory has no tokenizer.json: VOCAB_FROM=<the run's --init gguf> takes it from there:
//   CKPT=grpo.ckpt VOCAB_FROM=train-state/v2/edgellm-v2-f32.gguf node scripts/train-export-ckpt.mjs train-state/grpo
import path from "node:path";
import { readFile } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { loadCheckpoint } = await imp("src/train/checkpoint.js");
const { exportGGUF } = await imp("src/train/export.js");
const { buildVocab } = await imp("src/train/bpe/vocab.js");

const work = process.argv[2] ?? "build/train/v2";
const ckName = process.env.CKPT ?? "run.ckpt";
const ck = await loadCheckpoint(path.join(work, ckName));
let vocab;
if (process.env.VOCAB_FROM) {
  const { importGGUF } = await imp("src/train/import.js");
  vocab = buildVocab((await importGGUF(process.env.VOCAB_FROM)).bpe);
} else {
  const tj = JSON.parse(await readFile(path.join(work, "tokenizer.json"), "utf8"));
  vocab = buildVocab({ merges: tj.merges, tokenBytes: tj.tokenBytes.map((b) => Uint8Array.from(b)) });
}
const out = process.argv[3] ?? path.join(work, "eval");
const name = process.argv[4] ?? `ckpt-${ck.step}`;
mkdirSync(out, { recursive: true });
const extra = [["general.description", `edgellm checkpoint ${work}/${ckName} at step ${ck.step}`]];
for (const type of ["f32", "q8_0"]) {
  const f = path.join(out, `${name}-${type}.gguf`);
  await exportGGUF(f, ck.config, ck.params, vocab, { name: "edgellm-default", type, extra });
  console.log(`wrote ${f} (step ${ck.step})`);
}
