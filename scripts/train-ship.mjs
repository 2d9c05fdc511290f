// Ship a trained model as the embedded default: re-export its F32 GGUF under the default model's
// name (general.name "edgellm-default", the server's model id) as
// <out>/edgellm-default-f32.gguf and -q8_0.gguf, then check that every tensor of the written files
// is byte-identical to the source's (the F32 file's, and the Q8_0 file's beside it when present).
//   node scripts/train-ship.mjs train-state/v2/edgellm-v2-f32.gguf [models]
// EDGELLM_DIST picks the build (default dist).
import path from "node:path";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { importGGUF } = await imp("src/train/import.js");
const { exportGGUF } = await imp("src/train/export.js");
const { buildVocab } = await imp("src/train/bpe/vocab.js");
const { openGGUF } = await imp("src/gguf/reader.js");

const src = process.argv[2];
const out = process.argv[3] ?? "models";
if (!src?.endsWith("-f32.gguf")) {
  console.error("usage: node scripts/train-ship.mjs <model>-f32.gguf [outDir]");
  process.exit(1);
}

async function describe(file) {
  const f = await openGGUF(file);
  try {
    const d = f.metadata.get("general.description");
    return typeof d === "string" ? d : undefined;
  } finally {
    await f.close();
  }
}

async function sameTensors(a, b) {
  const [fa, fb] = [await openGGUF(a), await openGGUF(b)];
  try {
    if (fa.tensors.length !== fb.tensors.length) throw new Error(`${a} vs ${b}: tensor counts differ`);
    for (const t of fa.tensors) {
      const u = fb.tensorByName(t.name);
      if (!u || u.type !== t.type) throw new Error(`${b}: tensor ${t.name} missing or of another type`);
      const [x, y] = [await fa.readTensor(t), await fb.readTensor(u)];
      if (Buffer.compare(Buffer.from(x), Buffer.from(y)) !== 0) throw new Error(`${t.name}: bytes differ`);
    }
    return fa.tensors.length;
  } finally {
    await fa.close();
    await fb.close();
  }
}

const m = await importGGUF(src);
const vocab = buildVocab(m.bpe);
const description = (await describe(src)) ?? `edgellm default model from ${path.basename(src)}`;
const extra = [["general.description", description]];
mkdirSync(out, { recursive: true });
for (const type of ["f32", "q8_0"]) {
  const file = path.join(out, `edgellm-default-${type}.gguf`);
  await exportGGUF(file, m.config, m.params, vocab, { name: "edgellm-default", type, extra });
  const from = type === "f32" ? src : src.replace(/-f32\.gguf$/, "-q8_0.gguf");
  const checked = existsSync(from) ? `${await sameTensors(from, file)} tensors identical to ${from}` : "no source to compare";
  const sha = createHash("sha256").update(await readFile(file)).digest("hex");
  console.log(`wrote ${file}: sha256 ${sha}, ${checked}`);
}
