/**
 * GRPO training stage: per step, P prompts (a pure function of seed and step) x G samples from
 * the current policy -> rule-based rewards (the verifier) -> group-normalised advantages -> for
 * `inner` iterations: the clipped policy-gradient objective with a KL penalty to the frozen
 * reference (grpo-loss.ts), backward through the ordinary model, gradient clip, AdamW.
 * Groups whose rewards are all equal carry no signal (zero advantage) and are dropped from the
 * batch. Checkpoints (params + Adam state + step) are written every `checkpointEvery` steps and
 * a run resumes from one; given the seed, a run is deterministic.
 */
import { copyFile } from "node:fs/promises";
import { InputError } from "../../errors.js";
import { loadCheckpoint, saveCheckpoint } from "../checkpoint.js";
import type { TrainModelConfig } from "../model/config.js";
import { AdamW, DEFAULT_ADAMW } from "../optim/adamw.js";
import { clipGradNorm } from "../optim/clip.js";
import { ShardedModel } from "../parallel/sharded.js";
import { Rng, hash32 } from "../../sampling/rng.js";
import { DEFAULT_GRPO_LOSS, groupAdvantages, grpoWeights, type GrpoLossConfig } from "./grpo-loss.js";
import type { Sampler } from "./sampler.js";
import { packSequences, type Sequence } from "./sequences.js";

export interface RlPrompt {
  ids: number[];
  /** what the reward function checks against (e.g. the expected answer) */
  answer: string;
  /** completion cap for this prompt (default: the run's maxTokens) */
  maxTokens?: number;
  /** a curriculum's bookkeeping: the problem's index and the hint lines its prompt carries */
  source?: number;
  hint?: number;
  /** the problem's shape (shapes.ts: "3x2", "word2", ...), for choosing and reporting */
  shape?: string;
}

/**
 * Chooses each step's prompts and sees each group's pass rate (a curriculum). Its state is saved
 * in the checkpoint; `pick` must be a pure function of the state, the step and the generator.
 */
export interface PromptSource {
  pick(step: number, P: number, rng: Rng): RlPrompt[];
  update(prompts: readonly RlPrompt[], passRates: readonly number[]): void;
  state(): unknown;
  restore(s: unknown): void;
  describe(): string;
}

export interface GrpoOptions {
  config: TrainModelConfig;
  /** starting weights (the SFT checkpoint) and the frozen reference (usually the same) */
  init: Float32Array;
  ref?: Float32Array;
  prompts: readonly RlPrompt[];
  /** a curriculum that picks the prompts (then `prompts` is not used); its name goes in the run's settings */
  source?: { name: string; source: PromptSource };
  sampler: Sampler;
  /** reward of one completion (token ids) for its prompt */
  reward: (completion: number[], p: RlPrompt) => number;
  pad: number;
  steps: number;
  promptsPerStep: number;
  group: number;
  /** optimisation iterations per sampled batch (1 = on-policy: ratio 1) */
  inner?: number;
  /** training rows per step (default P x G): sequences of mixed groups beyond this are dropped,
   *  whole groups at a time, so a step's forward/backward costs at most rows x seqLen tokens */
  rows?: number;
  lr: number;
  /** linear LR warmup over this many optimiser updates (Adam's first updates move every weight by
   *  ~lr whatever its gradient: at an SFT-sized lr the first RL update alone can move the policy far) */
  warmup?: number;
  gradClip?: number;
  loss?: GrpoLossConfig;
  temperature?: number;
  maxTokens: number;
  /** row length of the training batch (prompt + completion); default the model's ctx */
  seqLen?: number;
  seed: number;
  threads?: number;
  checkpointPath?: string;
  checkpointEvery?: number;
  /** also keep a copy of the checkpoint every this many steps (<name>-s<step>.ckpt), for evals */
  snapshotEvery?: number;
  resume?: boolean;
  onStep?: (s: GrpoStepStats) => void;
}

export interface GrpoStepStats {
  step: number;
  reward: number;
  /** share of samples with reward >= 1 */
  accuracy: number;
  kl: number;
  clipped: number;
  objective: number;
  meanLength: number;
  /** sequences that carried signal (groups with reward variance) */
  trained: number;
  /** with inner > 1: the surrogate objective and the clipped share at each inner iteration, before its update */
  inner?: { objective: number; clipped: number; kl: number }[];
  /** mean hint lines in the step's prompts (a curriculum's; 0 without) */
  hint?: number;
  seconds: number;
}

export interface GrpoResult {
  params: Float32Array;
  history: GrpoStepStats[];
}

export async function runGrpo(o: GrpoOptions): Promise<GrpoResult> {
  const G = o.group;
  const P = o.promptsPerStep;
  const inner = o.inner ?? 1;
  if (!Number.isInteger(inner) || inner < 1 || inner > 64)
    throw new InputError(`GRPO inner iterations must be an integer in 1..64, got ${inner}`, {
      field: "inner",
    });
  if (G < 2) throw new InputError("GRPO needs a group of at least 2 samples", { field: "group" });
  if (o.prompts.length === 0 && !o.source) throw new InputError("GRPO needs prompts", { field: "prompts" });
  const T = o.seqLen ?? o.config.ctx;
  const B = Math.min(P * G, Math.max(G, o.rows ?? P * G));
  const lossCfg = o.loss ?? DEFAULT_GRPO_LOSS;
  const meta = {
    rows: o.rows,
    stage: "grpo",
    seed: o.seed,
    steps: o.steps,
    P,
    G,
    lr: o.lr,
    loss: lossCfg,
    T,
    curriculum: o.source?.name,
    // (absent at 1: checkpoints written before inner existed still resume)
    ...(inner > 1 ? { inner } : {}),
    ...(o.warmup ? { warmup: o.warmup } : {}),
  };
  const net = await ShardedModel.create(o.config, B, T, { threads: o.threads });
  const refNet = await ShardedModel.create(o.config, B, T, { threads: o.threads });
  try {
    const adam = new AdamW(net.layout.total, DEFAULT_ADAMW, net.layout.entries);
    let step = 0;
    let history: GrpoStepStats[] = [];
    net.params.set(o.init);
    refNet.params.set(o.ref ?? o.init);
    if (o.resume && o.checkpointPath) {
      const ck = await loadCheckpoint(o.checkpointPath).catch(() => null);
      if (ck) {
        if (JSON.stringify(ck.meta.run) !== JSON.stringify(meta))
          throw new InputError("GRPO checkpoint was written with other settings", { file: o.checkpointPath });
        net.params.set(ck.params);
        adam.m.set(ck.m);
        adam.v.set(ck.v);
        adam.t = ck.adamT;
        step = ck.step;
        history = (ck.meta.history as GrpoStepStats[]) ?? [];
        if (o.source) o.source.source.restore(ck.meta.source);
      }
    }
    const save = async () => {
      if (!o.checkpointPath) return;
      await saveCheckpoint(o.checkpointPath, {
        config: o.config,
        step,
        adamT: adam.t,
        losses: history.map((h) => -h.objective),
        meta: { run: meta, history, source: o.source?.source.state() },
        params: Float32Array.from(net.params),
        m: adam.m,
        v: adam.v,
      });
    };
    while (step < o.steps) {
      const t0 = performance.now();
      const rng = new Rng(hash32(`grpo:${o.seed}:${step}`));
      const batchPrompts = o.source
        ? o.source.source.pick(step, P, rng)
        : Array.from({ length: P }, () => o.prompts[Math.floor(rng.uniform() * o.prompts.length)]);
      const samples = await o.sampler.sample(
        Float32Array.from(net.params),
        batchPrompts.map((p) => p.ids),
        G,
        {
          temperature: o.temperature ?? 1,
          maxTokens: o.maxTokens,
          maxTokensPer: batchPrompts.map((p) => Math.min(o.maxTokens, p.maxTokens ?? o.maxTokens)),
          seed: hash32(`grpo-sample:${o.seed}:${step}`),
        },
      );
      const rewards: number[] = [];
      const seqs: Sequence[] = [];
      let lenSum = 0;
      samples.forEach((group, i) =>
        group.forEach((c) => {
          rewards.push(o.reward(c, batchPrompts[i]));
          seqs.push({ prompt: batchPrompts[i].ids, completion: c.length ? c : [o.pad] });
          lenSum += c.length;
        }),
      );
      const adv = groupAdvantages(rewards, G);
      o.source?.source.update(
        batchPrompts,
        batchPrompts.map((_, i) => rewards.slice(i * G, (i + 1) * G).filter((r) => r >= 1).length / G),
      );
      // the samples with signal, of whole groups, as many groups as the training rows hold
      const groups = [...new Set(adv.flatMap((a, i) => (a !== 0 ? [Math.floor(i / G)] : [])))].slice(
        0,
        Math.floor(B / G),
      );
      const keep = seqs.map((_, i) => i).filter((i) => adv[i] !== 0 && groups.includes(Math.floor(i / G)));
      const stats: GrpoStepStats = {
        step: step + 1,
        reward: rewards.reduce((a, b) => a + b, 0) / rewards.length,
        accuracy: rewards.filter((r) => r >= 1).length / rewards.length,
        kl: 0,
        clipped: 0,
        objective: 0,
        meanLength: lenSum / seqs.length,
        trained: keep.length,
        hint: batchPrompts.reduce((a, p) => a + (p.hint ?? 0), 0) / P,
        seconds: 0,
      };
      if (keep.length > 0) {
        const batch = packSequences(
          keep.map((i) => seqs[i]),
          B,
          T,
          o.pad,
        );
        const advKept = keep.map((i) => adv[i]);
        // on-policy without KL (inner 1, beta 0): ratio 1 and no KL term, so neither forward is needed
        const plain = inner === 1 && lossCfg.beta === 0;
        const logpOld = plain ? new Float32Array(B * T) : await net.logprobs(batch);
        // beta 0: the KL term vanishes, the reference forward is skipped (kl reads 0)
        const logpRef = lossCfg.beta === 0 ? logpOld : await refNet.logprobs(batch);
        for (let it = 0; it < inner; it++) {
          const logp = it === 0 ? logpOld : await net.logprobs(batch);
          const terms = grpoWeights(batch, advKept, logp, logpOld, logpRef, lossCfg);
          await net.step(
            { tokens: batch.tokens, targets: batch.targets, mask: batch.completion, count: 1 },
            { weights: terms.weights },
          );
          clipGradNorm(net.grads, o.gradClip ?? 1);
          adam.step(net.params, net.grads, o.lr * Math.min(1, (adam.t + 1) / (o.warmup || 1)));
          if (it === 0)
            Object.assign(stats, { kl: terms.kl, clipped: terms.clipped, objective: terms.objective });
          if (inner > 1)
            (stats.inner ??= []).push({ objective: terms.objective, clipped: terms.clipped, kl: terms.kl });
        }
      }
      step++;
      stats.seconds = (performance.now() - t0) / 1000;
      history.push(stats);
      o.onStep?.(stats);
      if (o.checkpointEvery && step % o.checkpointEvery === 0) await save();
      if (o.snapshotEvery && o.checkpointPath && step % o.snapshotEvery === 0) {
        if (!(o.checkpointEvery && step % o.checkpointEvery === 0)) await save();
        await copyFile(o.checkpointPath, o.checkpointPath.replace(/(\.ckpt)?$/, `-s${step}.ckpt`));
      }
    }
    await save();
    return { params: Float32Array.from(net.params), history };
  } finally {
    await net.close();
    await refNet.close();
  }
}
