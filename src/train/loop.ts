/**
 * The training loop: sample batch (pure function of seed and step) -> forward -> backward ->
 * clip -> AdamW with warmup+cosine LR, with periodic atomic checkpoints. Given the same options a
 * run is deterministic, and resuming from a checkpoint continues the exact same loss curve.
 */
import { InputError } from "../errors.js";
import { sampleBatch, type Batch, type TokenizedSet } from "./batches.js";
import type { Buf } from "./ops/buf.js";
import { ShardedModel } from "./parallel/sharded.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import type { TrainModelConfig } from "./model/config.js";
import { LlamaTrainModel } from "./model/llama.js";
import { initParams } from "./model/params.js";
import { AdamW, DEFAULT_ADAMW, type AdamWConfig } from "./optim/adamw.js";
import { clipGradNorm } from "./optim/clip.js";
import { lrAt, type LrSchedule } from "./optim/schedule.js";
import { TrainProgress } from "./progress.js";
import { LoraParams, type LoraTrainOptions } from "./lora.js";
import { Rng } from "../sampling/rng.js";
import { WasmArena } from "./wasm/arena.js";
import { wasmKernels } from "./wasm/kernels.js";
import { compileTrainModule, createTrainMemory, instantiateTrain } from "./wasm/module.js";

export interface TrainOptions {
  config: TrainModelConfig;
  data: TokenizedSet;
  /** sequences per step and tokens per sequence */
  batch: number;
  seqLen: number;
  /** total optimisation steps of the run (the schedule's length) */
  steps: number;
  /** stop after this step even if `steps` is larger (to test or split runs); default steps */
  stopAt?: number;
  lr: Omit<LrSchedule, "total">;
  adamw?: AdamWConfig;
  clip: number;
  seed: number;
  checkpointPath?: string;
  checkpointEvery?: number;
  /** continue from this checkpoint (must come from a run with the same settings) */
  resumeFrom?: string;
  progress?: boolean;
  /** initial parameters (warm start) instead of the seeded random init; ignored on resume */
  init?: Float32Array;
  /** "wasm" (default): SIMD kernels, data-parallel shards; "ts": the plain-TS reference model */
  kernels?: "wasm" | "ts";
  /** threads for the wasm kernels: 1 or 2 (default 2); results do not depend on it */
  threads?: number;
  onStep?: (r: { step: number; loss: number; lr: number; gradNorm: number; tokensPerSec: number }) => void;
  /**
   * LoRA on a frozen base (train/lora.ts): `base` holds the model's params (e.g. from
   * loadTrainBase, dequantized from Q8_0/Q4_0); only the adapter is optimised, clipped and
   * checkpointed. Runs on the plain-TS model (the sharded WASM workers carry no adapter yet).
   */
  lora?: LoraTrainOptions & { base: Float32Array };
}

export interface TrainResult {
  /** the (main thread's) model; its params are the trained weights */
  model: LlamaTrainModel;
  /** the trained adapter of a LoRA run */
  lora?: LoraParams;
  losses: number[];
  step: number;
  /** wall seconds of this invocation, and the tokens it processed */
  seconds: number;
  tokens: number;
}

/** Settings that must match between a checkpoint and the run that resumes from it. */
function runMeta(o: TrainOptions): Record<string, unknown> {
  return {
    seed: o.seed,
    batch: o.batch,
    seqLen: o.seqLen,
    steps: o.steps,
    lr: o.lr,
    clip: o.clip,
    adamw: o.adamw ?? DEFAULT_ADAMW,
    dataTokens: o.data.ids.length,
    ...(o.init ? { warmStart: true } : {}),
    ...(o.lora
      ? { lora: { rank: o.lora.rank, alpha: o.lora.alpha ?? o.lora.rank, targets: o.lora.targets ?? null } }
      : {}),
  };
}

/** What the loop steps: forward+backward of a whole batch into `grads`. */
interface Net {
  model: LlamaTrainModel;
  grads: Buf;
  step(b: Batch): Promise<number>;
  close(): Promise<void>;
}

async function createNet(o: TrainOptions): Promise<Net> {
  if (o.kernels === "ts" || o.lora) {
    // LoRA: one model on the calling thread, its base products on the WASM kernels unless "ts"
    // (the adapter's own rank-r products stay in TS: train/lora.ts).
    let model: LlamaTrainModel;
    if (o.kernels === "ts") model = new LlamaTrainModel(o.config, o.batch, o.seqLen);
    else {
      const memory = createTrainMemory();
      const kern = wasmKernels(instantiateTrain(await compileTrainModule(), memory), memory);
      const arena = new WasmArena(memory, 1024);
      model = new LlamaTrainModel(o.config, o.batch, o.seqLen, arena.alloc, undefined, kern);
    }
    return {
      model,
      grads: model.grads,
      async step(b) {
        model.zeroGrad();
        const loss = model.forward(b.tokens, b.targets, b.mask, b.count, {
          inputRows: b.inputRows,
          inputAt: b.inputAt,
        });
        model.backward();
        return loss;
      },
      async close() {},
    };
  }
  return ShardedModel.create(o.config, o.batch, o.seqLen, { threads: o.threads });
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  if (!Number.isInteger(o.steps) || o.steps <= 0)
    throw new InputError(`steps must be a positive integer`, { field: "steps" });
  const stopAt = Math.min(o.stopAt ?? o.steps, o.steps);
  const meta = runMeta(o);
  // validate a checkpoint before any worker exists, so a rejected resume leaks nothing
  const ck = o.resumeFrom ? await loadCheckpoint(o.resumeFrom) : null;
  if (
    ck &&
    (JSON.stringify(ck.config) !== JSON.stringify(o.config) ||
      JSON.stringify(ck.meta) !== JSON.stringify(meta))
  ) {
    throw new InputError("checkpoint was written by a run with different settings", {
      file: o.resumeFrom,
      hint: `checkpoint: ${JSON.stringify({ config: ck.config, meta: ck.meta })}`,
    });
  }
  const net = await createNet(o);
  const model = net.model;
  let lora: LoraParams | undefined;
  if (o.lora) {
    if (o.lora.base.length !== model.layout.total)
      throw new InputError(
        `LoRA base has ${o.lora.base.length} params, the config needs ${model.layout.total}`,
      );
    model.params.set(o.lora.base);
    lora = model.lora = new LoraParams(o.config, o.lora);
    if (ck && ck.params.length !== lora.params.length)
      throw new InputError("checkpoint holds another adapter shape", { file: o.resumeFrom });
  }
  // What the optimiser steps: the whole model, or the adapter alone.
  const params = lora ? lora.params : model.params;
  const grads = lora ? lora.grads : net.grads;
  const adam = new AdamW(params.length, o.adamw ?? DEFAULT_ADAMW, lora ? lora.entries : model.layout.entries);
  let step = 0;
  let losses: number[] = [];
  if (ck) {
    params.set(ck.params);
    adam.m.set(ck.m);
    adam.v.set(ck.v);
    adam.t = ck.adamT;
    step = ck.step;
    losses = ck.losses.slice();
  } else if (o.init || lora) {
    if (o.init) {
      if (o.init.length !== model.layout.total)
        throw new InputError(
          `initial params have ${o.init.length} values, the model needs ${model.layout.total}`,
        );
      model.params.set(o.init);
    }
    if (lora) lora.init(new Rng(o.seed));
  } else {
    initParams(model.params, model.layout, o.config, new Rng(o.seed));
  }
  const save = async () => {
    if (!o.checkpointPath) return;
    await saveCheckpoint(o.checkpointPath, {
      config: o.config,
      step,
      adamT: adam.t,
      losses,
      meta,
      params: params as Float32Array,
      m: adam.m,
      v: adam.v,
    });
  };
  const bar = o.progress ? new TrainProgress(stopAt, step) : null;
  const t0 = performance.now();
  let tokens = 0;
  try {
    while (step < stopAt) {
      const b = sampleBatch(o.data, o.batch, o.seqLen, o.seed, step);
      let loss = 0;
      lora?.zeroGrad();
      if (b.count > 0) loss = await net.step(b);
      else grads.fill(0);
      const gradNorm = clipGradNorm(grads, o.clip);
      const lr = lrAt(step, { ...o.lr, total: o.steps });
      adam.step(params, grads, lr);
      losses.push(loss);
      step++;
      tokens += o.batch * o.seqLen;
      const tokensPerSec = tokens / ((performance.now() - t0) / 1000);
      bar?.update({ step, total: stopAt, loss, tokensPerSec });
      o.onStep?.({ step, loss, lr, gradNorm, tokensPerSec });
      if (o.checkpointEvery && step % o.checkpointEvery === 0) await save();
    }
  } finally {
    bar?.stop();
    await net.close();
  }
  await save();
  return { model, lora, losses, step, seconds: (performance.now() - t0) / 1000, tokens };
}
