// The distillation pair of issue #18: teacher = the shipped default model (v2unitsE, 0.95M
// parameters, `npm run train:default`), student = the same architecture at width 64 (4 layers,
// SwiGLU 192: 0.26M parameters, ~27%), the teacher's tokenizer, template and context, trained
// from scratch. Both arms see the same batches (seed, sampler, steps) from the same seeded init:
//   arm kd:  loss = alpha * tau^2 * KL(teacher_tau || student_tau) + (1 - alpha) * CE(gold)
//   arm sft: alpha 0, no teacher run (the SFT-only twin at equal student compute)
//   node scripts/train-distill.mjs --arm kd|sft [--steps 1200] [--stop-at N] [--alpha 0.5] [--tau 1]
//     [--teacher models/edgellm-default-f32.gguf] [--work build/train/distill-ARM] [--threads 1]
//     [--data u|e] [--seq-len 512] [--lr 2e-3]
// --data picks the student's data stream: u (default) = STUDENT_DATA_U, the formats of the shipped
// teacher v2unitsU; e = STUDENT_DATA, v2unitsE's formats (session 9's pair, whose teacher was E).
// Checkpoint every 10 steps; --stop-at N ends this run at step N (rerun to continue: it resumes
// from the checkpoint, the schedule spans --steps). At the last step it writes
// WORK/student-ARM-f32.gguf and -q8_0.gguf.
import { mkdirSync } from "node:fs";
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
const { studentData, STUDENT_SHAPE } = await imp("src/train/presets.js");

const a = process.argv.slice(2);
const opt = (k, d) => (a.includes(k) ? a[a.indexOf(k) + 1] : d);
const arm = opt("--arm", "kd");
if (arm !== "kd" && arm !== "sft") {
  console.error(`--arm must be kd or sft, got '${arm}'`);
  process.exit(2);
}
const work = opt("--work", `build/train/distill-${arm}`);
mkdirSync(work, { recursive: true });
const teacher = await importGGUF(opt("--teacher", "models/edgellm-default-f32.gguf"));
const vocab = buildVocab(teacher.bpe);
const student = { ...STUDENT_SHAPE, vocab: teacher.config.vocab };
const steps = Number(opt("--steps", "1200"));
const stopAt = Number(opt("--stop-at", String(steps)));
const alpha = arm === "sft" ? 0 : Number(opt("--alpha", "0.5"));
const tau = Number(opt("--tau", "1"));
const t0 = Date.now();
let studentConfig;
try {
  studentConfig = studentData(opt("--data", "u"));
} catch (e) {
  console.error(`--data: ${e.message}`);
  process.exit(2);
}
const data = tokenizeExamples(generateDataset(studentConfig).train, vocab.encoder, vocab.pad);
console.log(
  `data: ${data.starts.length} examples, ${data.ids.length} tokens (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
);
const seqLen = Number(opt("--seq-len", "512"));
const r = await runDistill({
  student,
  teacher: teacher.config,
  teacherParams: teacher.params,
  data,
  batch: 4,
  seqLen,
  steps,
  stopAt,
  lr: { maxLr: Number(opt("--lr", "2e-3")), minLr: 2e-4, warmup: 30 },
  temperature: tau,
  alpha,
  seed: 5,
  threads: Number(opt("--threads", "1")),
  checkpointPath: path.join(work, "distill.ckpt"),
  checkpointEvery: 10,
  resume: true,
  onStep: (s) =>
    s.step % 10 === 0 &&
    console.log(
      `[${((Date.now() - t0) / 1000).toFixed(0)} s] ${arm} step ${s.step}/${steps} loss ${s.loss.toFixed(4)}`,
    ),
});
if (r.step < steps) console.log(`stopped at step ${r.step} of ${steps}; rerun the same command to continue`);
else {
  for (const type of ["f32", "q8_0"])
    await exportGGUF(path.join(work, `student-${arm}-${type}.gguf`), student, r.params, vocab, {
      name: `edgellm-student-${arm}`,
      type,
    });
  console.log(
    `wrote ${work}/student-${arm}-{f32,q8_0}.gguf (${((Date.now() - t0) / 1000).toFixed(0)} s this run)`,
  );
}
