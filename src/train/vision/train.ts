/**
 * Training loop of the vision encoder (train/vision/encoder.ts): each step draws a batch of
 * images (a pure function of seed and step), runs forward, the cell loss (loss.ts) and backward,
 * clips the global gradient norm and steps AdamW on a warmup + cosine schedule, with atomic
 * checkpoints (train/checkpoint.ts). Given the same options a run is deterministic, and a resumed
 * run continues the exact same loss curve.
 */
import { InputError } from "../../errors.js";
import { hash32, Rng } from "../../sampling/rng.js";
import { loadCheckpoint, saveCheckpoint } from "../checkpoint.js";
import { AdamW, type AdamWConfig } from "../optim/adamw.js";
import { clipGradNorm } from "../optim/clip.js";
import { lrAt, type LrSchedule } from "../optim/schedule.js";
import { TrainProgress } from "../progress.js";
import { WasmArena } from "../wasm/arena.js";
import { wasmKernels } from "../wasm/kernels.js";
import { compileTrainModule, createTrainMemory, instantiateTrain } from "../wasm/module.js";
import { initVitParams, type VitConfig, VitTrainModel } from "./encoder.js";
import { cellLoss, type CellLossOptions } from "./loss.js";

/** One training image: normalized planar pixels written at `pixels[at..]`, and its cells' targets. */
export type ImageSampler = (rng: Rng, pixels: Float32Array, at: number) => Int32Array;

/** AdamW settings of the encoder runs (beta2 0.999, light decay on matrices only). */
export const VIT_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

export interface VitTrainOptions {
  config: VitConfig;
  /** candidate embeddings (K, projDim), row k = the target of cell class k */
  candidates: Float32Array;
  loss: CellLossOptions;
  /** draws one image; targets per patch (n of them; the class row's target is loss.blank) */
  sample: ImageSampler;
  batch: number;
  steps: number;
  stopAt?: number;
  lr: Omit<LrSchedule, "total">;
  adamw?: AdamWConfig;
  clip: number;
  seed: number;
  checkpointPath?: string;
  checkpointEvery?: number;
  resumeFrom?: string;
  /** warm start (a layout-ordered parameter vector, e.g. read from an mmproj); ignored on resume */
  init?: Float32Array;
  /** free-form settings checked on resume too (data, loss weights...) */
  meta?: Record<string, unknown>;
  /** "wasm" (default): products on the WASM SIMD kernels (one thread); "ts": plain TS */
  kernels?: "wasm" | "ts";
  progress?: boolean;
  onStep?: (r: VitStepReport) => void;
}

export interface VitStepReport {
  step: number;
  loss: number;
  ce: number;
  mse: number;
  /** fraction of rows whose nearest candidate is right, and of images with every row right */
  cellAcc: number;
  exact: number;
  lr: number;
  gradNorm: number;
  imagesPerSec: number;
}

export interface VitTrainResult {
  model: VitTrainModel;
  losses: number[];
  step: number;
  seconds: number;
}

function runMeta(o: VitTrainOptions): Record<string, unknown> {
  return {
    seed: o.seed,
    batch: o.batch,
    steps: o.steps,
    lr: o.lr,
    clip: o.clip,
    adamw: o.adamw ?? VIT_ADAMW,
    loss: o.loss,
    ...(o.init ? { warmStart: true } : {}),
    ...(o.meta ?? {}),
  };
}

export async function trainVit(o: VitTrainOptions): Promise<VitTrainResult> {
  if (!Number.isInteger(o.steps) || o.steps <= 0)
    throw new InputError("steps must be a positive integer", { field: "steps" });
  const stopAt = Math.min(o.stopAt ?? o.steps, o.steps);
  const meta = runMeta(o);
  const ck = o.resumeFrom ? await loadCheckpoint<VitConfig>(o.resumeFrom) : null;
  if (
    ck &&
    (JSON.stringify(ck.config) !== JSON.stringify(o.config) ||
      JSON.stringify(ck.meta) !== JSON.stringify(meta))
  )
    throw new InputError("checkpoint was written by a run with different settings", {
      file: o.resumeFrom,
      hint: `checkpoint: ${JSON.stringify({ config: ck.config, meta: ck.meta })}`,
    });
  let model: VitTrainModel;
  if (o.kernels === "ts") model = new VitTrainModel(o.config, o.batch);
  else {
    const memory = createTrainMemory();
    const kern = wasmKernels(instantiateTrain(await compileTrainModule(), memory), memory);
    model = new VitTrainModel(o.config, o.batch, new WasmArena(memory, 1024).alloc, kern);
  }
  const E = o.config.projDim;
  const K = o.candidates.length / E;
  if (!Number.isInteger(K) || K < 2)
    throw new InputError(`candidates must be K rows of ${E} values`, { field: "candidates" });
  const adam = new AdamW(model.layout.total, o.adamw ?? VIT_ADAMW, model.layout.entries);
  let step = 0;
  let losses: number[] = [];
  if (ck) {
    if (ck.params.length !== model.layout.total)
      throw new InputError(
        `checkpoint holds ${ck.params.length} params, the config needs ${model.layout.total}`,
        {
          file: o.resumeFrom,
        },
      );
    model.params.set(ck.params);
    adam.m.set(ck.m);
    adam.v.set(ck.v);
    adam.t = ck.adamT;
    step = ck.step;
    losses = ck.losses.slice();
  } else if (o.init) {
    if (o.init.length !== model.layout.total)
      throw new InputError(
        `initial params have ${o.init.length} values, the model needs ${model.layout.total}`,
      );
    model.params.set(o.init);
  } else initVitParams(model.params, model.layout, new Rng(o.seed));
  const save = async () => {
    if (!o.checkpointPath) return;
    await saveCheckpoint<VitConfig>(o.checkpointPath, {
      config: o.config,
      step,
      adamT: adam.t,
      losses,
      meta,
      params: Float32Array.from(model.params),
      m: adam.m,
      v: adam.v,
    });
  };
  const { B, T } = model;
  const S = o.config.imageSize;
  const pixels = new Float32Array(B * 3 * S * S);
  const targets = new Int32Array(B * T);
  const bar = o.progress ? new TrainProgress(stopAt, step, "img") : null;
  const t0 = performance.now();
  let images = 0;
  try {
    while (step < stopAt) {
      const rng = new Rng(hash32(`vit:${o.seed}:${step}`));
      for (let b = 0; b < B; b++) {
        const y = o.sample(rng, pixels, b * 3 * S * S);
        if (y.length !== T - 1)
          throw new InputError(`the sampler gave ${y.length} targets, the encoder has ${T - 1} patches`);
        targets.set(y, b * T);
        targets[b * T + T - 1] = o.loss.blank;
      }
      model.zeroGrad();
      const out = model.forward(pixels);
      const r = cellLoss(out, targets, o.candidates, K, E, o.loss, model.dout);
      model.backward(model.dout);
      const gradNorm = clipGradNorm(model.grads, o.clip);
      const lr = lrAt(step, { ...o.lr, total: o.steps });
      adam.step(model.params, model.grads, lr);
      let exact = 0;
      for (let b = 0; b < B; b++) {
        let ok = true;
        for (let t = 0; t < T && ok; t++) ok = r.pred[b * T + t] === targets[b * T + t];
        if (ok) exact++;
      }
      losses.push(r.loss);
      step++;
      images += B;
      const imagesPerSec = images / ((performance.now() - t0) / 1000);
      bar?.update({ step, total: stopAt, loss: r.loss, tokensPerSec: imagesPerSec });
      o.onStep?.({
        step,
        loss: r.loss,
        ce: r.ce,
        mse: r.mse,
        cellAcc: r.correct / (B * T),
        exact: exact / B,
        lr,
        gradNorm,
        imagesPerSec,
      });
      if (o.checkpointEvery && step % o.checkpointEvery === 0) await save();
    }
  } finally {
    bar?.stop();
  }
  await save();
  return { model, losses, step, seconds: (performance.now() - t0) / 1000 };
}
