// The distillation pair of issue #18: teacher = the shipped default model (v2unitsU since session 15, v2unitsE before; 0.95M
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
// On-policy distillation (second phase, from a trained student: --init its F32 GGUF):
//   arm op:   each step's rows = problems of the student data (add, sub, ×, word; single turn, train
//             split) with completions sampled from the current student (temperature 1), loss
//             KL(teacher || student) on them
//   arm gold: its twin: the same problems, packing and schedule with the data's gold completions
//             and the hard-label loss
//   node scripts/train-distill.mjs --arm op|gold --init build/train/distill-u-sft/student-sft-f32.gguf
//     --steps 300 --seq-len 1024 --lr 5e-4 --min-lr 1e-4 --warmup 10 --seed 6 [--per-round 8]
//     [--max-rounds 6] [--max-tokens 900] [--cut] [--work build/train/distill-ARM]
//   --cut (arm op): train each sampled completion only up to its first token that is not the
//     teacher's top choice (DistillOptions stream.cutAtDeviation)
//   --gold-share F (arm op): GKD's mixed setting: each problem keeps its gold completion with
//     probability F and is trained on the hard label; the rest are sampled and distilled
//   --top1 (arm op): train the sampled positions on the teacher's most likely token (a hard label,
//     DAgger) instead of its distribution
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
const { runDistill, streamProblems } = await imp("src/train/rl/distill.js");
const { exportGGUF } = await imp("src/train/export.js");
const { studentData, STUDENT_SHAPE, V2_MODEL_DATA } = await imp("src/train/presets.js");
const { engineSampler } = await imp("src/train/rl/sampler.js");

const a = process.argv.slice(2);
const opt = (k, d) => (a.includes(k) ? a[a.indexOf(k) + 1] : d);
const arm = opt("--arm", "kd");
const ARMS = ["kd", "sft", "op", "gold"];
if (!ARMS.includes(arm)) {
  console.error(`--arm must be one of ${ARMS.join(", ")}, got '${arm}'`);
  process.exit(2);
}
const work = opt("--work", `build/train/distill-${arm}`);
mkdirSync(work, { recursive: true });
const teacher = await importGGUF(opt("--teacher", "models/edgellm-default-f32.gguf"));
const vocab = buildVocab(teacher.bpe);
const student = { ...STUDENT_SHAPE, vocab: teacher.config.vocab };
const steps = Number(opt("--steps", "1200"));
const stopAt = Number(opt("--stop-at", String(steps)));
const alpha = arm === "sft" || arm === "gold" ? 0 : arm === "op" ? 1 : Number(opt("--alpha", "0.5"));
const initFile = opt("--init");
if ((arm === "op" || arm === "gold") && !initFile) {
  console.error(`--arm ${arm} continues a trained student: give --init <its F32 GGUF>`);
  process.exit(2);
}
const tau = Number(opt("--tau", "1"));
const t0 = Date.now();
let studentConfig;
try {
  studentConfig = studentData(opt("--data", "u"));
} catch (e) {
  console.error(`--data: ${e.message}`);
  process.exit(2);
}
const examples = generateDataset(studentConfig).train;
const data = tokenizeExamples(examples, vocab.encoder, vocab.pad);
let stream;
if (arm === "op" || arm === "gold") {
  const problems = streamProblems(
    examples,
    vocab.encoder,
    vocab.pad,
    ["add", "sub", "mul", "word"],
    [studentConfig, V2_MODEL_DATA],
  );
  stream = {
    problems,
    source: arm === "op" ? "student" : "gold",
    sampler:
      arm === "op" ? engineSampler(student, vocab, work, Number(opt("--threads", "1")), true) : undefined,
    perRound: Number(opt("--per-round", "8")),
    maxRounds: Number(opt("--max-rounds", "6")),
    temperature: Number(opt("--temperature", "1")),
    maxTokens: Number(opt("--max-tokens", "900")),
    cutAtDeviation: a.includes("--cut"),
    goldShare: arm === "op" ? Number(opt("--gold-share", "0")) : 0,
    labels: arm === "op" && a.includes("--top1") ? "top1" : "distribution",
  };
  console.log(`stream: ${problems.length} problems (${stream.source} completions)`);
}
let studentInit;
if (initFile) {
  const init = await importGGUF(initFile);
  for (const k of ["dim", "layers", "heads", "kvHeads", "ffn", "vocab"])
    if (init.config[k] !== student[k]) {
      console.error(`--init ${initFile}: ${k} ${init.config[k]}, the student has ${student[k]}`);
      process.exit(2);
    }
  studentInit = init.params;
}
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
  lr: {
    maxLr: Number(opt("--lr", "2e-3")),
    minLr: Number(opt("--min-lr", "2e-4")),
    warmup: Number(opt("--warmup", "30")),
  },
  studentInit,
  studentInitName: initFile,
  stream,
  eot: vocab.eot,
  temperature: tau,
  alpha,
  seed: Number(opt("--seed", "5")),
  threads: Number(opt("--threads", "1")),
  checkpointPath: path.join(work, "distill.ckpt"),
  checkpointEvery: 10,
  resume: true,
  onStep: (s) =>
    (s.step % 10 === 0 || s.positions !== undefined) &&
    console.log(
      `[${((Date.now() - t0) / 1000).toFixed(0)} s] ${arm} step ${s.step}/${steps} loss ${s.loss.toFixed(4)}` +
        (s.positions === undefined
          ? ""
          : ` positions ${s.positions} seqs ${s.sequences} completion ${s.completionMean.toFixed(0)}` +
            (s.stopped === undefined ? "" : ` stopped ${(100 * s.stopped).toFixed(0)}%`) +
            (s.kept === undefined ? "" : ` kept ${s.kept}`) +
            (s.goldSequences === undefined ? "" : ` gold ${s.goldSequences}`)),
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
