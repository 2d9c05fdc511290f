/**
 * Logit distillation: the student minimises KL(teacher || student) on the positions SFT trains
 * (assistant tokens), the teacher's distribution softened by a temperature tau (Hinton et al.;
 * the student's softmax at the same tau, the term scaled by tau^2 so its gradient's size does not
 * depend on tau), mixed with the hard-label SFT loss:
 *   loss = alpha * tau^2 * KL(softmax(teacher / tau) || softmax(student / tau)) + (1 - alpha) * CE
 * in one student forward+backward per step (ops/crossentropy.ts distillCrossEntropy). Teacher
 * and student share the vocabulary (checkSameVocabulary); their shapes may differ. Batches are
 * the SFT loop's (same sampler, seed and step) and the student's initial weights are the SFT
 * loop's seeded init unless given, so a distilled student and its SFT-only twin (alpha 0: no
 * teacher is run) see the same tokens at the same student compute; checkpoint/resume as the SFT
 * loop.
 *
 * On-policy distillation (`stream`, after Agarwal et al.'s GKD and Qwen3's small models): each
 * step's rows are filled with problems of a fixed set and completions sampled from the current
 * student through the engine, and the loss is KL(teacher || student) on the student's own
 * completions, so the student is taught in the states it reaches, not only in the data's. Its twin
 * is the same stream with the data's gold completions and the hard-label loss (`source: "gold"`):
 * the same problems, packing, rows and schedule, one student forward+backward per step each.
 * GKD's mixed setting (`goldShare`): a share of each round's problems keeps its gold completion and
 * is trained with the hard label (the teacher's row replaced by the gold token's one-hot, which at
 * tau 1 is the SFT loss), the rest is sampled and distilled, so the student keeps seeing correct
 * workings while it is taught in its own states.
 */
import { InputError, VocabMismatchError } from "../../errors.js";
import { Rng, hash32 } from "../../sampling/rng.js";
import { sampleBatch, tokenizeExamples, type TokenizedSet } from "../batches.js";
import type { BpeEncoder } from "../bpe/encoder.js";
import { splitOf, type DataConfig, type Example } from "../data/generate.js";
import type { BpeModel } from "../bpe/trainer.js";
import { loadCheckpoint, saveCheckpoint } from "../checkpoint.js";
import type { TrainModelConfig } from "../model/config.js";
import { initParams } from "../model/params.js";
import { AdamW, DEFAULT_ADAMW } from "../optim/adamw.js";
import { clipGradNorm } from "../optim/clip.js";
import { lrAt, type LrSchedule } from "../optim/schedule.js";
import { ShardedModel } from "../parallel/sharded.js";
import type { Sampler } from "./sampler.js";
import { StreamPacker } from "./sequences.js";

/** A problem of an on-policy stream: its prompt and the data's completion (ending in <|im_end|>). */
export interface StreamProblem {
  prompt: number[];
  gold: number[];
}

export interface StreamOptions {
  problems: readonly StreamProblem[];
  /** "student": completions sampled from the current student, loss KL(teacher || student) on
   *  them (needs alpha 1); "gold": the data's completions (the twin) */
  source: "student" | "gold";
  sampler?: Sampler;
  /** problems drawn per round; rounds repeat until the rows are full or maxRounds */
  perRound: number;
  maxRounds: number;
  temperature: number;
  maxTokens: number;
  /** source "student": train each completion only up to its first token that is not the teacher's
   *  top choice (that position included), not on the states after it, where the teacher has never
   *  been (its targets there continue a working that is already wrong) */
  cutAtDeviation?: boolean;
  /** source "student": the share of each round's problems (drawn independently per problem) that
   *  keep their gold completion and are trained with the hard label (needs tau 1) */
  goldShare?: number;
  /** source "student": what the sampled positions are trained towards: the teacher's distribution
   *  (KL, default) or its most likely token as a hard label (DAgger: the expert labels the
   *  learner's states with its own choice; needs tau 1) */
  labels?: "distribution" | "top1";
}

export interface DistillStepStats {
  step: number;
  loss: number;
  /** with a stream: trained positions, sequences packed and their mean completion length */
  positions?: number;
  sequences?: number;
  completionMean?: number;
  /** share of sampled completions that ended with <|im_end|> (source "student") */
  stopped?: number;
  /** with cutAtDeviation: positions trained after the cut */
  kept?: number;
  /** with goldShare: sequences packed with their gold completion */
  goldSequences?: number;
}

export interface DistillOptions {
  student: TrainModelConfig;
  /** the teacher's shape and weights; not needed (nor run) when alpha is 0 */
  teacher?: TrainModelConfig;
  teacherParams?: Float32Array;
  /** the student's initial weights (default: initParams seeded with `seed`, as the SFT loop) */
  studentInit?: Float32Array;
  /** where studentInit came from (kept in the checkpoint's settings, so a resume from another
   *  start is refused) */
  studentInitName?: string;
  data: TokenizedSet;
  batch: number;
  seqLen: number;
  steps: number;
  /** end this run after this step (the schedule still spans `steps`; resume to continue) */
  stopAt?: number;
  lr: Omit<LrSchedule, "total">;
  /** softening temperature tau and the weight alpha of the KL term (1 = pure distillation,
   *  0 = SFT only) */
  temperature?: number;
  alpha?: number;
  clip?: number;
  seed: number;
  threads?: number;
  checkpointPath?: string;
  checkpointEvery?: number;
  resume?: boolean;
  /** fill each step's rows from problems and sampled or gold completions instead of the data's windows */
  stream?: StreamOptions;
  /** the end-of-turn token id (a sampled completion that stopped ends with it) */
  eot?: number;
  onStep?: (s: DistillStepStats) => void;
}

/**
 * Teacher and student must tokenize alike: the same byte string for every token id and the same
 * merges (a KL over next-token distributions compares ids). Throws VocabMismatchError naming the
 * first difference.
 */
export function checkSameVocabulary(teacher: BpeModel, student: BpeModel): void {
  const fail = (what: string, detail: string): never => {
    throw new VocabMismatchError(what, `the teacher's vocabulary differs from the student's: ${detail}`, {
      hint: "distillation needs one tokenizer for both (train the student with the teacher's tokenizer)",
    });
  };
  const t = teacher.tokenBytes;
  const s = student.tokenBytes;
  if (t.length !== s.length) fail("size", `${t.length} tokens vs ${s.length}`);
  for (let i = 0; i < t.length; i++) {
    const a = t[i];
    const b = s[i];
    if (a.length !== b.length || a.some((x, j) => x !== b[j]))
      fail(
        `token ${i}`,
        `token ${i} is [${Array.from(a)}] in the teacher, [${Array.from(b)}] in the student`,
      );
  }
  if (teacher.merges.length !== student.merges.length)
    fail("merges", `${teacher.merges.length} merges vs ${student.merges.length}`);
  for (let i = 0; i < teacher.merges.length; i++)
    if (teacher.merges[i].join(" ") !== student.merges[i].join(" "))
      fail(`merge ${i}`, `merge ${i} is ${teacher.merges[i].join(" ")} vs ${student.merges[i].join(" ")}`);
}

export async function runDistill(
  o: DistillOptions,
): Promise<{ params: Float32Array; losses: number[]; step: number }> {
  const tau = o.temperature ?? 1;
  const alpha = o.alpha ?? 1;
  if (!(tau > 0))
    throw new InputError(`distillation temperature must be > 0, got ${tau}`, { field: "temperature" });
  if (!(alpha >= 0 && alpha <= 1))
    throw new InputError(`distillation weight alpha must be in [0, 1], got ${alpha}`, { field: "alpha" });
  const st = o.stream;
  if (st?.source === "student" && alpha !== 1)
    throw new InputError(
      "on-policy distillation trains on the student's own samples: alpha must be 1 (a hard-label term would imitate them)",
      { field: "alpha" },
    );
  if (st?.source === "student" && !st.sampler)
    throw new InputError("on-policy distillation needs a sampler", { field: "sampler" });
  const goldShare = st?.goldShare ?? 0;
  if (!(goldShare >= 0 && goldShare < 1))
    throw new InputError(`goldShare must be in [0, 1), got ${goldShare}`, { field: "goldShare" });
  if (goldShare > 0 && st?.source !== "student")
    throw new InputError("goldShare mixes gold completions into a stream of student samples", {
      field: "goldShare",
    });
  if (goldShare > 0 && tau !== 1)
    throw new InputError(
      `goldShare trains its gold completions with the hard label: tau must be 1, got ${tau}`,
      {
        field: "temperature",
      },
    );
  const top1 = st?.labels === "top1";
  if (top1 && st?.source !== "student")
    throw new InputError("top-1 labels are the teacher's choices on student samples (source student)", {
      field: "labels",
    });
  if (top1 && tau !== 1)
    throw new InputError(`top-1 labels are hard labels: tau must be 1, got ${tau}`, { field: "temperature" });
  if (st && st.problems.length === 0)
    throw new InputError("a distillation stream needs problems", { field: "problems" });
  const useTeacher = alpha > 0;
  if (useTeacher && (!o.teacher || !o.teacherParams))
    throw new InputError("alpha > 0 needs a teacher (config and weights)", { field: "teacher" });
  if (useTeacher && o.teacher!.vocab !== o.student.vocab)
    throw new VocabMismatchError(
      "n_vocab",
      `the teacher has ${o.teacher!.vocab} output rows, the student ${o.student.vocab}`,
    );
  const meta = {
    stage: "distill",
    seed: o.seed,
    steps: o.steps,
    batch: o.batch,
    seqLen: o.seqLen,
    tau,
    alpha,
    lr: o.lr,
    ...(o.studentInitName ? { init: o.studentInitName } : {}),
    ...(st
      ? {
          stream: {
            source: st.source,
            problems: st.problems.length,
            perRound: st.perRound,
            maxRounds: st.maxRounds,
            temperature: st.temperature,
            maxTokens: st.maxTokens,
            ...(st.cutAtDeviation ? { cutAtDeviation: true } : {}),
            ...(goldShare ? { goldShare } : {}),
            ...(top1 ? { labels: "top1" } : {}),
          },
        }
      : {}),
  };
  const student = await ShardedModel.create(o.student, o.batch, o.seqLen, { threads: o.threads });
  const teacher = useTeacher
    ? await ShardedModel.create(o.teacher!, o.batch, o.seqLen, { threads: o.threads })
    : null;
  try {
    teacher?.params.set(o.teacherParams!);
    if (o.studentInit) student.params.set(o.studentInit);
    else initParams(student.params, student.layout, o.student, new Rng(o.seed));
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
    const stopAt = Math.min(o.stopAt ?? o.steps, o.steps);
    while (step < stopAt) {
      let info: Omit<DistillStepStats, "step" | "loss"> = {};
      let b: ReturnType<typeof sampleBatch>;
      let spans: { start: number; end: number; gold: boolean }[] = [];
      if (st) {
        const r = await streamBatch(st, student.params, o.batch, o.seqLen, o.data.pad, o.seed, step, o.eot);
        b = r.batch;
        info = r.info;
        spans = r.spans;
      } else b = sampleBatch(o.data, o.batch, o.seqLen, o.seed, step);
      let loss = 0;
      if (b.count > 0) {
        if (teacher) {
          const soft = await teacher.probs(b.tokens, tau);
          if (st?.cutAtDeviation) {
            const sampled = spans.filter((x) => !x.gold);
            const gold = spans.filter((x) => x.gold);
            b.count = cutAtDeviation(b, soft, sampled, o.student.vocab) + countMasked(b.mask, gold);
            info.kept = b.count;
          }
          if (top1)
            teacherTop1(
              b,
              soft,
              spans.filter((x) => !x.gold),
              o.student.vocab,
            );
          if (goldShare > 0)
            hardLabels(
              b,
              soft,
              spans.filter((x) => x.gold),
              o.student.vocab,
            );
          loss = await student.step(b, { soft, temperature: tau, alpha });
        } else loss = await student.step(b);
      } else student.grads.fill(0);
      clipGradNorm(student.grads, o.clip ?? 1);
      adam.step(student.params, student.grads, lrAt(step, { ...o.lr, total: o.steps }));
      step++;
      losses.push(loss);
      o.onStep?.({ step, loss, ...info });
      if (o.checkpointEvery && step % o.checkpointEvery === 0) await save();
    }
    await save();
    return { params: Float32Array.from(student.params), losses, step };
  } finally {
    await student.close();
    await teacher?.close();
  }
}

/**
 * The problems of an on-policy stream: single-turn examples of `kinds` whose key is in the training
 * split of every config in `trainOnly` (the eval's corpus among them), each as its prompt (up to
 * and including "<|im_start|>assistant\n") and its gold completion, tokenized as the SFT loop
 * tokenizes them.
 */
export function streamProblems(
  examples: readonly Example[],
  enc: Pick<BpeEncoder, "encode">,
  pad: number,
  kinds: readonly string[],
  trainOnly: readonly Pick<DataConfig, "splitSalt" | "testPermille" | "valPermille">[],
): StreamProblem[] {
  const out: StreamProblem[] = [];
  for (const e of examples) {
    if (!kinds.includes(e.kind) || e.messages.length !== 2 || e.messages[0].role !== "user") continue;
    if (trainOnly.some((c) => splitOf(e.key, c) !== "train")) continue;
    const t = tokenizeExamples([e], enc, pad);
    const first = t.train.indexOf(1);
    let end = first;
    while (end < t.train.length && t.train[end]) end++;
    out.push({ prompt: Array.from(t.ids.subarray(0, first)), gold: Array.from(t.ids.subarray(first, end)) });
  }
  return out;
}

/** One step's rows of an on-policy (or gold) stream: rounds of problems drawn by (seed, step, round). */
async function streamBatch(
  st: StreamOptions,
  params: Float32Array,
  B: number,
  T: number,
  pad: number,
  seed: number,
  step: number,
  eot?: number,
): Promise<{
  batch: ReturnType<typeof sampleBatch>;
  info: Omit<DistillStepStats, "step" | "loss">;
  spans: { start: number; end: number; gold: boolean }[];
}> {
  const packer = new StreamPacker(B, T, pad);
  const gold: boolean[] = [];
  let goldSequences = 0;
  let sequences = 0;
  let completionTokens = 0;
  let stopped = 0;
  let sampled = 0;
  for (let round = 0; round < st.maxRounds && !packer.full; round++) {
    const rng = new Rng(hash32(`stream:${seed}:${step}:${round}`));
    const picks = Array.from(
      { length: st.perRound },
      () => st.problems[Math.floor(rng.uniform() * st.problems.length)],
    );
    // which picks keep their gold completion (a stream of its own, so goldShare 0 draws the same picks)
    const mix = new Rng(hash32(`mix:${seed}:${step}:${round}`));
    const keepGold = picks.map(
      () => st.source === "gold" || (!!st.goldShare && mix.uniform() < st.goldShare),
    );
    let completions: number[][];
    if (st.source === "gold") completions = picks.map((p) => p.gold);
    else {
      const toSample = picks.filter((_, i) => !keepGold[i]);
      const out = toSample.length
        ? await st.sampler!.sample(
            params,
            toSample.map((p) => p.prompt),
            1,
            {
              temperature: st.temperature,
              maxTokens: st.maxTokens,
              seed: hash32(`sample:${seed}:${step}:${round}`),
            },
          )
        : [];
      let k = 0;
      completions = picks.map((p, i) => (keepGold[i] ? p.gold : out[k++][0]));
      for (const g of out) {
        sampled++;
        if (eot !== undefined && g[0][g[0].length - 1] === eot) stopped++;
      }
    }
    for (let i = 0; i < picks.length && !packer.full; i++) {
      if (completions[i].length === 0) continue;
      const placed = packer.spans.length;
      packer.add({ prompt: picks[i].prompt, completion: completions[i] });
      // a sequence with no room left (or a prompt longer than a row) is not placed
      if (packer.spans.length === placed) continue;
      gold.push(keepGold[i] && st.source === "student");
      if (gold[gold.length - 1]) goldSequences++;
      sequences++;
      completionTokens += completions[i].length;
    }
  }
  return {
    batch: packer.batch(),
    spans: packer.spans.map((x, i) => ({ ...x, gold: gold[i] })),
    info: {
      positions: packer.count,
      sequences,
      completionMean: sequences ? completionTokens / sequences : 0,
      ...(sampled ? { stopped: stopped / sampled } : {}),
      ...(st.goldShare ? { goldSequences } : {}),
    },
  };
}

/**
 * Unmasks every trained position after the first one per span whose target (the sampled token) is
 * not the teacher's most likely token; returns the positions left.
 */
export function cutAtDeviation(
  b: { targets: Int32Array; mask: Uint8Array },
  soft: Float32Array,
  spans: readonly { start: number; end: number }[],
  V: number,
): number {
  let kept = 0;
  for (const { start, end } of spans) {
    let cut = false;
    for (let n = start; n < end; n++) {
      if (!b.mask[n]) continue;
      if (cut) {
        b.mask[n] = 0;
        continue;
      }
      kept++;
      if (rowArgmax(soft, n * V, V) !== b.targets[n]) cut = true;
    }
  }
  return kept;
}

/** Trained positions inside the spans. */
function countMasked(mask: Uint8Array, spans: readonly { start: number; end: number }[]): number {
  let n = 0;
  for (const { start, end } of spans) for (let i = start; i < end; i++) n += mask[i];
  return n;
}

/** The most likely token of row o (the first of equals). */
function rowArgmax(soft: Float32Array, o: number, V: number): number {
  let top = 0;
  for (let i = 1; i < V; i++) if (soft[o + i] > soft[o + top]) top = i;
  return top;
}

/** Replaces the row of every trained position inside the spans by the one-hot of pick(n, row offset). */
function oneHotRows(
  mask: Uint8Array,
  soft: Float32Array,
  spans: readonly { start: number; end: number }[],
  V: number,
  pick: (n: number, o: number) => number,
): void {
  for (const { start, end } of spans)
    for (let n = start; n < end; n++) {
      if (!mask[n]) continue;
      const id = pick(n, n * V);
      soft.fill(0, n * V, (n + 1) * V);
      soft[n * V + id] = 1;
    }
}

/**
 * Replaces the teacher's row at every trained position inside the spans by the one-hot of its
 * target, so those positions are trained with the hard label (KL(one-hot || student) is the
 * cross-entropy at tau 1).
 */
export function hardLabels(
  b: { targets: Int32Array; mask: Uint8Array },
  soft: Float32Array,
  spans: readonly { start: number; end: number }[],
  V: number,
): void {
  oneHotRows(b.mask, soft, spans, V, (n) => b.targets[n]);
}

/**
 * Replaces the teacher's row at every trained position inside the spans by the one-hot of the
 * teacher's most likely token (the first of equals), so the student is trained with the teacher's
 * choice as a hard label.
 */
export function teacherTop1(
  b: { mask: Uint8Array },
  soft: Float32Array,
  spans: readonly { start: number; end: number }[],
  V: number,
): void {
  oneHotRows(b.mask, soft, spans, V, (_, o) => rowArgmax(soft, o, V));
}
