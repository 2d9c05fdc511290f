/**
 * The whole recipe behind `edgellm train` / `npm run train:default`:
 *   synthetic data (seeded) -> byte-level BPE -> tokenized SFT set -> training (WASM kernels,
 *   2 threads, checkpoints) -> validation loss -> GGUF export (F32 and Q8_0) + summary JSON.
 * Everything is a pure function of the preset, so a resumed run (--resume) reloads the saved
 * tokenizer and checkpoint and ends with the same weights an uninterrupted run would.
 * workDir holds the resumable state (tokenizer.json, run.ckpt); outDir receives the GGUFs.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../errors.js";
import { sampleBatch, tokenizeExamples } from "./batches.js";
import { trainBpe, type BpeModel } from "./bpe/trainer.js";
import { buildVocab, SPECIAL_TEXTS, type Vocab } from "./bpe/vocab.js";
import { generateDataset } from "./data/generate.js";
import { renderChat } from "./data/format.js";
import { exportGGUF } from "./export.js";
import { importGGUF } from "./import.js";
import { train } from "./loop.js";
import type { TrainModelConfig } from "./model/config.js";
import { ShardedModel } from "./parallel/sharded.js";
import type { Preset } from "./presets.js";

export interface PipelineOptions {
  preset: Preset;
  workDir: string;
  outDir: string;
  /** override the preset's step count (changes the schedule, so resume needs the same value) */
  steps?: number;
  /** stop (checkpoint and export) after this step; with --resume at the checkpoint's step it
   *  just exports the checkpoint */
  stopAt?: number;
  resume?: boolean;
  threads?: number;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface TrainSummary {
  preset: string;
  params: number;
  config: TrainModelConfig;
  steps: number;
  batch: number;
  seqLen: number;
  trainTokens: number;
  /** wall seconds of the training loop in this invocation, and its throughput */
  trainSeconds: number;
  tokensPerSec: number;
  /** mean training loss over the last 50 steps, and validation loss at the end */
  finalTrainLoss: number;
  valLoss: number;
  totalSeconds: number;
  threads: number;
  files: string[];
}

async function saveTokenizer(path: string, m: BpeModel): Promise<void> {
  const json = JSON.stringify({ merges: m.merges, tokenBytes: m.tokenBytes.map((b) => Array.from(b)) });
  await writeFile(`${path}.tmp`, json);
  await rename(`${path}.tmp`, path);
}

async function loadTokenizer(path: string): Promise<BpeModel> {
  try {
    const j = JSON.parse(await readFile(path, "utf8")) as {
      merges: [number, number][];
      tokenBytes: number[][];
    };
    return { merges: j.merges, tokenBytes: j.tokenBytes.map((b) => Uint8Array.from(b)) };
  } catch (e) {
    throw new InputError(`cannot read the saved tokenizer: ${(e as Error).message}`, { file: path });
  }
}

/** Mean loss over `n` deterministic batches of a held-out set (forward+backward, grads unused). */
async function heldOutLoss(
  cfg: TrainModelConfig,
  params: Float32Array,
  set: ReturnType<typeof tokenizeExamples>,
  p: Preset,
  threads: number,
  n: number,
): Promise<number> {
  const net = await ShardedModel.create(cfg, p.batch, p.seqLen, { threads });
  try {
    net.params.set(params);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const b = sampleBatch(set, p.batch, p.seqLen, p.seed + 7919, i);
      if (b.count > 0) sum += await net.step(b);
    }
    return sum / n;
  } finally {
    await net.close();
  }
}

export async function runPipeline(o: PipelineOptions): Promise<TrainSummary> {
  const p = o.preset;
  const log = o.log ?? (() => {});
  const threads = o.threads ?? 2;
  const steps = o.steps ?? p.steps;
  const t0 = performance.now();
  await mkdir(o.workDir, { recursive: true });
  await mkdir(o.outDir, { recursive: true });

  const data = generateDataset(p.data);
  log(
    `data: ${data.train.length} train / ${data.val.length} val / ${data.test.length} test examples (seed ${p.data.seed})`,
  );

  const tokPath = join(o.workDir, "tokenizer.json");
  const ckPath = join(o.workDir, "run.ckpt");
  let bpe: BpeModel;
  if (p.initFrom && p.initSha256) {
    const sha = createHash("sha256")
      .update(await readFile(p.initFrom).catch(() => new Uint8Array(0)))
      .digest("hex");
    if (sha !== p.initSha256)
      throw new InputError(
        `warm-start file ${p.initFrom} is missing or not the one this recipe starts from`,
        {
          file: p.initFrom,
          hint: `sha256 ${sha}, expected ${p.initSha256}; scripts/train-v2.mjs extracts it from git`,
        },
      );
  }
  const warm = p.initFrom ? await importGGUF(p.initFrom) : null;
  const tokFrom = !warm && p.tokenizerFrom ? await importGGUF(p.tokenizerFrom) : null;
  if (warm) {
    const { ctx: _a, vocab: _b, ...have } = warm.config;
    const { ctx: _c, ...want } = p.model;
    // GGUF stores the epsilon as f32
    want.normEps = Math.fround(want.normEps);
    if (JSON.stringify(have) !== JSON.stringify(want))
      throw new InputError(
        `warm-start model ${p.initFrom} has shape ${JSON.stringify(have)}, the preset wants ${JSON.stringify(want)}`,
        {
          file: p.initFrom,
        },
      );
    bpe = warm.bpe;
    await saveTokenizer(tokPath, bpe);
    log(`warm start: weights and tokenizer of ${p.initFrom}`);
  } else if (tokFrom) {
    bpe = tokFrom.bpe;
    await saveTokenizer(tokPath, bpe);
    log(`tokenizer of ${p.tokenizerFrom}`);
  } else if (o.resume && existsSync(tokPath)) {
    bpe = await loadTokenizer(tokPath);
    log(`tokenizer: reloaded ${tokPath}`);
  } else {
    const docs = data.train.slice(0, p.bpeDocs).map((e) => renderChat(e.messages));
    bpe = trainBpe(docs, { vocabSize: p.vocabSize, specials: SPECIAL_TEXTS });
    await saveTokenizer(tokPath, bpe);
  }
  const vocab: Vocab = buildVocab(bpe);
  const trainSet = tokenizeExamples(data.train, vocab.encoder, vocab.pad);
  const valSet = tokenizeExamples(data.val, vocab.encoder, vocab.pad);
  log(`tokenizer: ${vocab.tokens.length} tokens; train set ${trainSet.ids.length} tokens`);

  const config: TrainModelConfig = { vocab: vocab.tokens.length, ...p.model };
  const resumeFrom = o.resume && existsSync(ckPath) ? ckPath : undefined;
  if (o.resume && !resumeFrom) log(`no checkpoint at ${ckPath}: starting from scratch`);
  const r = await train({
    config,
    data: trainSet,
    batch: p.batch,
    seqLen: p.seqLen,
    steps,
    stopAt: o.stopAt,
    lr: p.lr,
    clip: p.clip,
    seed: p.seed,
    checkpointPath: ckPath,
    checkpointEvery: p.checkpointEvery,
    resumeFrom,
    init: warm?.params,
    progress: o.progress,
    threads,
  });
  const params = Float32Array.from(r.model.params);
  const last = r.losses.slice(-50);
  const finalTrainLoss = last.reduce((a, b) => a + b, 0) / Math.max(1, last.length);
  const valLoss = valSet.starts.length ? await heldOutLoss(config, params, valSet, p, threads, 8) : NaN;
  log(`train loss (last 50 steps) ${finalTrainLoss.toFixed(4)}, validation loss ${valLoss.toFixed(4)}`);

  const base = `edgellm-${p.name}`;
  const files = [join(o.outDir, `${base}-f32.gguf`), join(o.outDir, `${base}-q8_0.gguf`)];
  const extra: [string, string | number][] = [
    [
      "general.description",
      `edgellm ${p.name} model: synthetic arithmetic + chat SFT, ${r.step} of ${steps} steps`,
    ],
  ];
  await exportGGUF(files[0], config, params, vocab, { name: base, type: "f32", extra });
  await exportGGUF(files[1], config, params, vocab, { name: base, type: "q8_0", extra });
  const summary: TrainSummary = {
    preset: p.name,
    params: r.model.layout.total,
    config,
    steps: r.step,
    batch: p.batch,
    seqLen: p.seqLen,
    trainTokens: r.step * p.batch * p.seqLen,
    trainSeconds: r.seconds,
    tokensPerSec: r.tokens / r.seconds,
    finalTrainLoss,
    valLoss,
    totalSeconds: (performance.now() - t0) / 1000,
    threads,
    files,
  };
  await writeFile(join(o.workDir, "summary.json"), JSON.stringify({ ...summary, losses: r.losses }, null, 1));
  return summary;
}
