/**
 * Logit distillation: the student minimises KL(teacher || student) on the positions SFT trains
 * (assistant tokens), the teacher's distribution softened by a temperature tau (Hinton et al.;
 * the student's softmax at the same tau, the gradient scaled by tau^2 so its size does not
 * depend on tau), optionally mixed with the
 * hard-label SFT loss: loss = alpha * tau^2 * KL + (1 - alpha) * CE. Teacher and student share
 * the vocabulary; their shapes may differ (a larger teacher trained by this same stack). Batches
 * are the SFT loop's (same sampler, seed and step), so a distilled student and its SFT-only twin
 * see the same tokens; checkpoint/resume as the SFT loop.
 */
import { InputError } from "../../errors.js";
import { sampleBatch, type TokenizedSet } from "../batches.js";
import { loadCheckpoint, saveCheckpoint } from "../checkpoint.js";
import type { TrainModelConfig } from "../model/config.js";
import { AdamW, DEFAULT_ADAMW } from "../optim/adamw.js";
import { clipGradNorm } from "../optim/clip.js";
import { lrAt, type LrSchedule } from "../optim/schedule.js";
import { ShardedModel } from "../parallel/sharded.js";

export interface DistillOptions {
  student: TrainModelConfig;
  teacher: TrainModelConfig;
  studentInit: Float32Array;
  teacherParams: Float32Array;
  data: TokenizedSet;
  batch: number;
  seqLen: number;
  steps: number;
  lr: Omit<LrSchedule, "total">;
  /** softening temperature tau and the weight alpha of the KL term (1 = pure distillation) */
  temperature?: number;
  alpha?: number;
  clip?: number;
  seed: number;
  threads?: number;
  checkpointPath?: string;
  checkpointEvery?: number;
  resume?: boolean;
  onStep?: (s: { step: number; kl: number; ce: number }) => void;
}

export async function runDistill(o: DistillOptions): Promise<{ params: Float32Array; losses: number[] }> {
  if (o.teacher.vocab !== o.student.vocab)
    throw new InputError("teacher and student must share the vocabulary", { field: "teacher.vocab" });
  const tau = o.temperature ?? 1;
  const alpha = o.alpha ?? 1;
  const meta = {
    stage: "distill",
    seed: o.seed,
    steps: o.steps,
    batch: o.batch,
    seqLen: o.seqLen,
    tau,
    alpha,
    lr: o.lr,
  };
  const student = await ShardedModel.create(o.student, o.batch, o.seqLen, { threads: o.threads });
  const teacher = await ShardedModel.create(o.teacher, o.batch, o.seqLen, { threads: o.threads });
  try {
    teacher.params.set(o.teacherParams);
    student.params.set(o.studentInit);
    const adam = new AdamW(student.layout.total, DEFAULT_ADAMW, student.layout.entries);
    let step = 0;
    let losses: number[] = [];
    if (o.resume && o.checkpointPath) {
      const ck = await loadCheckpoint(o.checkpointPath).catch(() => null);
      if (ck) {
        if (JSON.stringify(ck.meta) !== JSON.stringify(meta))
          throw new InputError("distillation checkpoint was written with other settings", {
            file: o.checkpointPath,
          });
        student.params.set(ck.params);
        adam.m.set(ck.m);
        adam.v.set(ck.v);
        adam.t = ck.adamT;
        step = ck.step;
        losses = ck.losses;
      }
    }
    const save = async () => {
      if (!o.checkpointPath) return;
      await saveCheckpoint(o.checkpointPath, {
        config: o.student,
        step,
        adamT: adam.t,
        losses,
        meta,
        params: Float32Array.from(student.params),
        m: adam.m,
        v: adam.v,
      });
    };
    const P = student.layout.total;
    const ceGrads = new Float32Array(P);
    while (step < o.steps) {
      const b = sampleBatch(o.data, o.batch, o.seqLen, o.seed, step);
      let kl = 0;
      let ce = 0;
      if (b.count > 0) {
        const soft = await teacher.probs(b.tokens, tau);
        kl = await student.step(b, { soft, temperature: tau });
        // both softmaxes at tau; tau^2 keeps the soft-target gradient's scale (Hinton et al.)
        const g = student.grads;
        if (alpha < 1) {
          for (let i = 0; i < P; i++) ceGrads[i] = g[i] * alpha * tau * tau;
          ce = await student.step(b);
          for (let i = 0; i < P; i++) g[i] = ceGrads[i] + (1 - alpha) * g[i];
        } else if (tau !== 1) for (let i = 0; i < P; i++) g[i] *= tau * tau;
      } else student.grads.fill(0);
      clipGradNorm(student.grads, o.clip ?? 1);
      adam.step(student.params, student.grads, lrAt(step, { ...o.lr, total: o.steps }));
      step++;
      losses.push(kl);
      o.onStep?.({ step, kl, ce });
      if (o.checkpointEvery && step % o.checkpointEvery === 0) await save();
    }
    await save();
    return { params: Float32Array.from(student.params), losses };
  } finally {
    await student.close();
    await teacher.close();
  }
}
