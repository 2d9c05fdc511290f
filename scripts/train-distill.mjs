// Logit distillation of the teacher (preset `teacher`, `edgellm train --preset teacher --out
// build/train/teacher/out`) into the v2-shaped student, on the v2 corpus (same batches as SFT):
//   node scripts/train-distill.mjs --teacher build/train/teacher/out/edgellm-teacher-f32.gguf \
//     --student models/edgellm-default-f32.gguf [--steps 600] [--tau 2] [--alpha 0.5] [--resume]
// --alpha 0 is the SFT-only twin at equal student compute (same batches, same steps).
// Work directory build/train/distill (distill.ckpt every 10 steps); writes distill-f32/q8_0.gguf.
import path from "node:path";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { importGGUF } = await imp("src/train/import.js");
const { buildVocab } = await imp("src/train/bpe/vocab.js");
const { generateDataset } = await imp("src/train/data/generate.js");
const { tokenizeExamples } = await imp("src/train/batches.js");
const { runDistill } = await imp("src/train/rl/distill.js");
const { exportGGUF } = await imp("src/train/export.js");
const { V2_MODEL_DATA } = await imp("src/train/presets.js");
const a = process.argv.slice(2);
const opt = (k, d) => (a.includes(k) ? a[a.indexOf(k) + 1] : d);
const work = opt("--work", "build/train/distill");
(await import("node:fs")).mkdirSync(work, { recursive: true });
const teacher = await importGGUF(opt("--teacher", "build/train/teacher/out/edgellm-teacher-f32.gguf"));
const student = await importGGUF(opt("--student", "models/edgellm-default-f32.gguf"));
const vocab = buildVocab(student.bpe);
const studentCfg = { ...student.config, ctx: teacher.config.ctx };
const data = tokenizeExamples(generateDataset(V2_MODEL_DATA).train, vocab.encoder, vocab.pad);
const steps = Number(opt("--steps", "600"));
const t0 = Date.now();
const r = await runDistill({
  student: studentCfg,
  teacher: teacher.config,
  studentInit: student.params,
  teacherParams: teacher.params,
  data,
  batch: 4,
  seqLen: Number(opt("--seq-len", "1024")),
  steps,
  lr: { maxLr: Number(opt("--lr", "5e-4")), minLr: 5e-5, warmup: 20 },
  temperature: Number(opt("--tau", "2")),
  alpha: Number(opt("--alpha", "0.5")),
  seed: 5,
  threads: Number(opt("--threads", "2")),
  checkpointPath: path.join(work, "distill.ckpt"),
  checkpointEvery: 10,
  resume: a.includes("--resume"),
  onStep: (s) => s.step % 10 === 0 && console.log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] step ${s.step}/${steps} kl ${s.kl.toFixed(4)} ce ${s.ce.toFixed(4)}`),
});
for (const type of ["f32", "q8_0"])
  await exportGGUF(path.join(work, `distill-${type}.gguf`), studentCfg, r.params, vocab, { name: "edgellm-default", type });
console.log(`wrote ${work}/distill-{f32,q8_0}.gguf`);
