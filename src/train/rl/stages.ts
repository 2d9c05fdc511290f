/**
 * The reasoning stages on the default model, wired to its corpus and verifier:
 *   rlPrompts      training-split arithmetic and word problems of a data config as ChatML prompts
 *                  (the held-out splits are never used), with their answers
 *   arithmeticReward  1 when the completion's final answer (after </think>) equals the answer, else 0
 *                  (R1-style rule-based outcome reward; the process verifier can add per-step terms)
 *   runStage       grpo | rs (rejection-sampling SFT) from an F32 GGUF, resumable, exporting GGUFs
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildVocab, type Vocab } from "../bpe/vocab.js";
import { generateDataset, type DataConfig } from "../data/generate.js";
import { IM_END, IM_START } from "../data/format.js";
import { finalAnswer } from "../eval/arithmetic.js";
import { exportGGUF } from "../export.js";
import { importGGUF } from "../import.js";
import { train } from "../loop.js";
import type { Kind } from "../data/problems.js";
import { runGrpo, type RlPrompt } from "./grpo.js";
import { rejectionSample } from "./rejection.js";
import { engineSampler } from "./sampler.js";
import { checkSteps, firstError } from "./process-verifier.js";

export function rlPrompts(vocab: Vocab, data: DataConfig, n: number, kinds: readonly Kind[]): RlPrompt[] {
  const d = generateDataset({ ...data, counts: { train: n * 4, val: 0, test: 0 } });
  const out: RlPrompt[] = [];
  for (const e of d.train) {
    if (!kinds.includes(e.kind) || e.answer === undefined || e.messages[0].role !== "user") continue;
    const text = `${IM_START}user\n${e.messages[0].content}${IM_END}\n${IM_START}assistant\n`;
    out.push({ ids: vocab.encoder.encode(text), answer: e.answer });
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
  log: (s: string) => void;
}

export async function runStage(o: StageOptions): Promise<string[]> {
  await mkdir(o.workDir, { recursive: true });
  const warm = await importGGUF(o.init);
  const vocab = buildVocab(warm.bpe);
  const cfg = warm.config;
  const prompts = rlPrompts(vocab, o.data, o.prompts, o.kinds);
  o.log(`${o.stage}: ${prompts.length} prompts (${o.kinds.join(",")}), init ${o.init}`);
  const sampler = engineSampler(cfg, vocab, o.workDir, o.threads);
  const reward = arithmeticReward(vocab);
  let params: Float32Array;
  if (o.stage === "grpo") {
    const r = await runGrpo({
      config: cfg,
      init: warm.params,
      prompts,
      sampler,
      reward,
      pad: vocab.pad,
      steps: o.steps,
      promptsPerStep: o.promptsPerStep,
      group: o.group,
      lr: o.lr,
      maxTokens: o.maxTokens,
      seqLen: o.seqLen,
      seed: o.seed,
      threads: o.threads,
      checkpointPath: join(o.workDir, "grpo.ckpt"),
      checkpointEvery: 1,
      resume: o.resume,
      onStep: (s) =>
        o.log(
          `grpo step ${s.step}/${o.steps} reward ${s.reward.toFixed(3)} acc ${s.accuracy.toFixed(3)} kl ${s.kl.toFixed(4)} clipped ${s.clipped.toFixed(3)} len ${s.meanLength.toFixed(0)} trained ${s.trained} ${s.seconds.toFixed(0)} s`,
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
