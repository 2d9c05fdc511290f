/**
 * The reasoning stages on the default model, wired to its corpus and verifier:
 *   rlPrompts      training-split arithmetic and word problems of a data config as ChatML prompts
 *                  (the held-out splits are never used), with their answers
 *   arithmeticReward  1 when the completion's final answer (after </think>) equals the answer, else 0
 *                  (R1-style rule-based outcome reward; the process verifier can add per-step terms)
 *   mixedPrompts   the prompts whose G samples at the sampling temperature are sometimes right and
 *                  sometimes wrong (the only groups that carry a GRPO signal), with each pass rate
 *   runStage       grpo | rs (rejection-sampling SFT) from an F32 GGUF, resumable, exporting GGUFs;
 *                  GRPO can first keep only the mixed prompts of a probed pool (`filter`)
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildVocab, type Vocab } from "../bpe/vocab.js";
import { generateDataset, splitOf, type DataConfig } from "../data/generate.js";
import { IM_END, IM_START } from "../data/format.js";
import { finalAnswer } from "../eval/arithmetic.js";
import { exportGGUF } from "../export.js";
import { importGGUF } from "../import.js";
import { train } from "../loop.js";
import { loadCheckpoint } from "../checkpoint.js";
import type { Kind } from "../data/problems.js";
import { runGrpo, type PromptSource, type RlPrompt } from "./grpo.js";
import { DEFAULT_GRPO_LOSS } from "./grpo-loss.js";
import { HintCurriculum, type WorkedProblem } from "./curriculum.js";
import { rejectionSample } from "./rejection.js";
import { engineSampler, type Sampler } from "./sampler.js";
import { checkSteps, firstError } from "./process-verifier.js";
import { InputError } from "../../errors.js";
import { problemShape, selectInBand, shapeRates } from "./shapes.js";

export function rlPrompts(
  vocab: Vocab,
  data: DataConfig,
  n: number,
  kinds: readonly Kind[],
  o: { shapes?: readonly string[]; heldOut?: DataConfig } = {},
): RlPrompt[] {
  const out: RlPrompt[] = [];
  // a shape filter keeps a share of the draws: grow the draw until n fit
  for (let want = n * 4; out.length < n && want <= n * 256; want *= 4) {
    out.length = 0;
    const d = generateDataset({ ...data, counts: { train: want, val: 0, test: 0 } });
    for (const e of d.train) {
      if (!kinds.includes(e.kind) || e.answer === undefined || e.messages[0].role !== "user") continue;
      // a problem of the eval corpus's held-out splits is never trained on
      if (o.heldOut && splitOf(e.key, o.heldOut) !== "train") continue;
      // × AxB, word<steps>, add<d> / sub<d> (d: digits of the longer operand)
      const shape =
        e.kind === "chat" || e.kind === "tool" || e.kind === "json" ? e.kind : problemShape(e.key, e.digits);
      if (o.shapes && !o.shapes.includes(shape)) continue;
      const text = `${IM_START}user\n${e.messages[0].content}${IM_END}\n${IM_START}assistant\n`;
      out.push({ ids: vocab.encoder.encode(text), answer: e.answer, shape });
      if (out.length === n) break;
    }
    if (!o.shapes) break;
  }
  return out;
}

/**
 * Training-split problems of `kinds` with their worked solutions (single user turn), for the hint
 * curriculum. `hard`: only × with a 3-digit factor or two 2+-digit factors, and word problems. Every key is checked
 * against `heldOut`'s split too (the eval's corpus), so no evaluated problem can enter training.
 */
export function workedProblems(
  data: DataConfig,
  n: number,
  kinds: readonly Kind[],
  o: { hard?: boolean; heldOut?: DataConfig } = {},
): WorkedProblem[] {
  const d = generateDataset({ ...data, counts: { train: n * 8, val: 0, test: 0 } });
  const out: WorkedProblem[] = [];
  for (const e of d.train) {
    if (!kinds.includes(e.kind) || e.answer === undefined || e.messages.length !== 2) continue;
    if (e.messages[0].role !== "user") continue;
    const f = e.kind === "mul" ? e.key.split(":").slice(1) : [];
    if (o.hard && e.kind === "mul" && !(f.every((x) => x.length >= 2) || f.some((x) => x.length >= 3)))
      continue;
    if (splitOf(e.key, data) !== "train" || (o.heldOut && splitOf(e.key, o.heldOut) !== "train"))
      throw new InputError(`problem ${e.key} is not in the training split`);
    out.push({
      prefix: `${IM_START}user\n${e.messages[0].content}${IM_END}\n${IM_START}assistant\n`,
      lines: e.messages[1].content.split("\n"),
      answer: e.answer,
      key: e.key,
      shape: e.kind === "mul" ? `mul ${f[1].length}x${f[0].length}` : `word ${e.lang}`,
    });
    if (out.length === n) break;
  }
  return out;
}

export function decoder(vocab: Vocab): (ids: number[]) => string {
  const td = new TextDecoder();
  const special = new Map([...vocab.specials].map(([t, id]) => [id, t]));
  return (ids) => {
    let s = "";
    let bytes: number[] = [];
    const flush = () => {
      s += td.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const sp = special.get(id);
      if (sp !== undefined) {
        flush();
        s += sp;
      } else bytes.push(...vocab.model.tokenBytes[id]);
    }
    flush();
    return s;
  };
}

/** Outcome reward (exact final answer), minus `stepPenalty` when the process verifier finds a wrong step. */
export function arithmeticReward(vocab: Vocab, stepPenalty = 0): (c: number[], p: RlPrompt) => number {
  const decode = decoder(vocab);
  return (c, p) => {
    const text = decode(c).replace(IM_END, "");
    const ok = finalAnswer(text) === p.answer ? 1 : 0;
    return stepPenalty > 0 && firstError(checkSteps(text)) >= 0 ? ok - stepPenalty : ok;
  };
}

export interface MixedPrompts {
  /** indices (into the probed prompts) of the prompts with 0 < pass rate < 1 */
  keep: number[];
  /** pass rate of every probed prompt */
  passRates: number[];
}

/** Probe each prompt with G samples of `params` and keep those whose rewards are mixed. */
export async function mixedPrompts(
  params: Float32Array,
  prompts: readonly RlPrompt[],
  sampler: Sampler,
  G: number,
  reward: (c: number[], p: RlPrompt) => number,
  o: { temperature: number; maxTokens: number; seed: number; chunk?: number; log?: (s: string) => void },
): Promise<MixedPrompts> {
  const passRates: number[] = [];
  const chunk = o.chunk ?? 16;
  for (let i = 0; i < prompts.length; i += chunk) {
    const part = prompts.slice(i, i + chunk);
    const groups = await sampler.sample(
      params,
      part.map((p) => p.ids),
      G,
      { temperature: o.temperature, maxTokens: o.maxTokens, seed: o.seed + 7919 * i },
    );
    groups.forEach((g, j) => passRates.push(g.filter((c) => reward(c, part[j]) >= 1).length / g.length));
    o.log?.(`probed ${passRates.length}/${prompts.length} prompts`);
  }
  const keep = passRates.flatMap((r, i) => (r > 0 && r < 1 ? [i] : []));
  return { keep, passRates };
}

/**
 * The parameters of a stage's checkpoint as GGUFs (f32 and q8_0) next to it, named <prefix>-f32.gguf
 * and <prefix>-q8_0.gguf: a run stopped before its last step can still be evaluated.
 */
export async function exportCheckpoint(init: string, checkpoint: string, prefix: string): Promise<string[]> {
  const warm = await importGGUF(init);
  const ck = await loadCheckpoint(checkpoint);
  if (ck.params.length !== warm.params.length)
    throw new InputError(`checkpoint has ${ck.params.length} parameters, ${init} has ${warm.params.length}`, {
      file: checkpoint,
    });
  const files: string[] = [];
  for (const type of ["f32", "q8_0"] as const) {
    const f = `${prefix}-${type}.gguf`;
    await exportGGUF(`${f}.tmp`, warm.config, ck.params, buildVocab(warm.bpe), {
      name: "edgellm-default",
      type,
    });
    await rename(`${f}.tmp`, f);
    files.push(f);
  }
  return files;
}

export interface StageOptions {
  stage: "grpo" | "rs";
  init: string;
  workDir: string;
  data: DataConfig;
  kinds: readonly Kind[];
  prompts: number;
  steps: number;
  promptsPerStep: number;
  group: number;
  lr: number;
  maxTokens: number;
  seqLen: number;
  seed: number;
  threads: number;
  resume: boolean;
  /** sampling temperature of GRPO's groups and of the probe (default 1) */
  temperature?: number;
  /** GRPO: probe this many prompts first and train only on the mixed ones (0/undefined: all) */
  filter?: number;
  /** GRPO: "hints" = the reverse curriculum of hints (curriculum.ts) over `prompts` worked problems */
  curriculum?: "hints";
  /** with the curriculum: only × with a 3-digit factor or two 2+-digit factors, and word problems */
  hard?: boolean;
  /** with the curriculum: the first hint, as a share of each working's longest hint (default 0) */
  hintStart?: number;
  /** GRPO: training rows per step (default promptsPerStep x group) */
  rows?: number;
  /** GRPO: KL coefficient (default 0.04; 0 with inner 1 skips the reference forward) */
  beta?: number;
  /** GRPO: only prompts of these shapes (shapes.ts: "3x2", "word2", ...) */
  shapes?: readonly string[];
  /** GRPO with `filter`: keep the mixed prompts of the shapes whose probed pass rate lies in [lo, hi] (default [0, 1]) */
  band?: [number, number];
  /** GRPO: linear LR warmup over this many optimiser updates (default none) */
  warmup?: number;
  /** GRPO: optimisation iterations per sampled batch (PPO-style reuse with the clipped ratio; default 1) */
  inner?: number;
  /** GRPO: keep a copy of the checkpoint every this many steps */
  snapshotEvery?: number;
  /** the eval's corpus: no problem of its held-out splits may be trained on (checked per key) */
  heldOut?: DataConfig;
  log: (s: string) => void;
}

export async function runStage(o: StageOptions): Promise<string[]> {
  await mkdir(o.workDir, { recursive: true });
  const warm = await importGGUF(o.init);
  const vocab = buildVocab(warm.bpe);
  const cfg = warm.config;
  let prompts = o.curriculum
    ? []
    : rlPrompts(vocab, o.data, o.prompts, o.kinds, { shapes: o.shapes, heldOut: o.heldOut });
  o.log(`${o.stage}: ${prompts.length} prompts (${o.kinds.join(",")}), init ${o.init}`);
  const sampler = engineSampler(cfg, vocab, o.workDir, o.threads);
  const reward = arithmeticReward(vocab);
  const temperature = o.temperature ?? 1;
  let source: { name: string; source: PromptSource } | undefined;
  if (o.stage === "grpo" && o.curriculum === "hints") {
    const problems = workedProblems(o.data, o.prompts, o.kinds, { hard: o.hard, heldOut: o.heldOut });
    const cur = new HintCurriculum(problems, (t) => vocab.encoder.encode(t), {
      maxTokens: o.maxTokens,
      start: o.hintStart,
    });
    const shapes = new Map<string, number>();
    for (const p of problems) shapes.set(p.shape, (shapes.get(p.shape) ?? 0) + 1);
    o.log(
      `hint curriculum: ${problems.length} problems (${[...shapes].map(([k, v]) => `${k} ${v}`).join(", ")})`,
    );
    source = {
      name: `hints:${o.prompts}:${o.kinds.join(",")}:${o.hard ? "hard" : "all"}:${o.hintStart ?? 0}`,
      source: cur,
    };
  } else if (o.stage === "grpo" && o.filter) {
    // the probe is a pure function of its settings: a resumed run reuses the saved result
    const file = join(o.workDir, "mixed-prompts.json");
    const key = {
      init: o.init,
      kinds: o.kinds,
      filter: o.filter,
      group: o.group,
      temperature,
      seed: o.seed,
      shapes: o.shapes,
    };
    let mixed: MixedPrompts | undefined;
    if (existsSync(file)) {
      const saved = JSON.parse(await readFile(file, "utf8")) as { key: unknown } & MixedPrompts;
      if (JSON.stringify(saved.key) === JSON.stringify(key)) mixed = saved;
    }
    if (!mixed) {
      mixed = await mixedPrompts(warm.params, prompts.slice(0, o.filter), sampler, o.group, reward, {
        temperature,
        maxTokens: o.maxTokens,
        seed: o.seed,
        log: o.log,
      });
      await writeFile(file, JSON.stringify({ key, ...mixed }));
    }
    const probed = mixed.passRates.length;
    const solved = mixed.passRates.filter((r) => r === 1).length;
    const band = o.band ?? [0, 1];
    const shapes = prompts.slice(0, probed).map((p) => p.shape ?? "?");
    const rates = shapeRates(shapes, mixed.passRates, band);
    o.log(
      `probe by shape: ${rates.map((r) => `${r.shape} ${(100 * r.rate).toFixed(0)}% of ${r.prompts}${r.inBand ? "" : " (out of band)"}`).join(", ")}`,
    );
    const keep = selectInBand(shapes, mixed.passRates, band);
    o.log(
      `probe: ${mixed.keep.length}/${probed} prompts mixed (${solved} always right, ${probed - solved - mixed.keep.length} never) at T ${temperature}, G ${o.group}; ${keep.length} mixed in shapes with pass rate in [${band.join(", ")}]`,
    );
    if (keep.length === 0)
      throw new InputError("no probed prompt has mixed rewards in the band", { field: "filter" });
    mixed = { ...mixed, keep };
    const all = prompts;
    prompts = mixed.keep.map((i) => all[i]);
  }
  let params: Float32Array;
  if (o.stage === "grpo") {
    const r = await runGrpo({
      config: cfg,
      init: warm.params,
      prompts,
      source,
      sampler,
      reward,
      pad: vocab.pad,
      steps: o.steps,
      promptsPerStep: o.promptsPerStep,
      group: o.group,
      lr: o.lr,
      maxTokens: o.maxTokens,
      temperature,
      seqLen: o.seqLen,
      seed: o.seed,
      threads: o.threads,
      checkpointPath: join(o.workDir, "grpo.ckpt"),
      checkpointEvery: 1,
      snapshotEvery: o.snapshotEvery,
      rows: o.rows,
      inner: o.inner,
      warmup: o.warmup,
      loss: { ...DEFAULT_GRPO_LOSS, beta: o.beta ?? DEFAULT_GRPO_LOSS.beta },
      resume: o.resume,
      onStep: (s) =>
        o.log(
          `grpo step ${s.step}/${o.steps} reward ${s.reward.toFixed(3)} acc ${s.accuracy.toFixed(3)} kl ${s.kl.toFixed(4)} clipped ${s.clipped.toFixed(3)} len ${s.meanLength.toFixed(0)} hint ${(s.hint ?? 0).toFixed(1)} trained ${s.trained} ${s.seconds.toFixed(0)} s${source ? ` | ${source.source.describe()}` : ""}`,
        ),
    });
    params = r.params;
  } else {
    const rs = await rejectionSample(warm.params, prompts, sampler, o.group, reward, vocab.pad, {
      temperature: 1,
      maxTokens: o.maxTokens,
      seed: o.seed,
    });
    o.log(
      `rs: kept ${rs.accepted}/${rs.sampled} samples, ${rs.promptsSolved}/${prompts.length} prompts solved`,
    );
    const r = await train({
      config: cfg,
      data: rs.set,
      batch: 4,
      seqLen: o.seqLen,
      steps: o.steps,
      lr: { maxLr: o.lr, minLr: o.lr / 10, warmup: 5 },
      clip: 1,
      seed: o.seed,
      init: warm.params,
      checkpointPath: join(o.workDir, "rs.ckpt"),
      checkpointEvery: 10,
      resumeFrom: o.resume && existsSync(join(o.workDir, "rs.ckpt")) ? join(o.workDir, "rs.ckpt") : undefined,
      threads: o.threads,
    });
    params = Float32Array.from(r.model.params);
  }
  const files: string[] = [];
  for (const type of ["f32", "q8_0"] as const) {
    const f = join(o.workDir, `${o.stage}-${type}.gguf`);
    await exportGGUF(`${f}.tmp`, cfg, params, vocab, { name: "edgellm-default", type });
    await rename(`${f}.tmp`, f);
    files.push(f);
  }
  await writeFile(
    join(o.workDir, `${o.stage}-done.json`),
    JSON.stringify({ ...o, log: undefined, files }, null, 1),
  );
  return files;
}
