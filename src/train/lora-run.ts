/**
 * `edgellm train --lora`: an adapter for an existing llama GGUF, trained on chat examples (JSONL,
 * one `{"messages": [...]}` per line; loss on the assistant turns), with the base frozen (F32 or
 * dequantized from Q8_0/Q4_0), the same loop as SFT (deterministic batches, warmup+cosine LR,
 * clipping, atomic checkpoints, --resume continuing the exact loss curve) and a llama.cpp-format
 * adapter GGUF at the end.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { InputError } from "../errors.js";
import { openGGUF } from "../gguf/reader.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import { tokenizeExamples } from "./batches.js";
import type { Message } from "./data/format.js";
import { loadTrainBase, writeLoraAdapter } from "./lora.js";
import { train } from "./loop.js";

export interface LoraRunOptions {
  base: string;
  /** JSONL path, or the examples themselves (the units demonstration). */
  data: string | { messages: Message[] }[];
  out: string;
  /** checkpoint directory (default: next to `out`) */
  work?: string;
  rank: number;
  alpha?: number;
  targets?: string[];
  steps: number;
  stopAt?: number;
  batch: number;
  seqLen: number;
  lr: number;
  seed: number;
  resume?: boolean;
  progress?: boolean;
}

export interface LoraRunSummary {
  steps: number;
  firstLoss: number;
  finalLoss: number;
  seconds: number;
  tokensPerSec: number;
  adapterParams: number;
  out: string;
}

async function readExamples(path: string): Promise<{ messages: Message[] }[]> {
  const lines = (await readFile(path, "utf8")).split("\n");
  const out: { messages: Message[] }[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new InputError(`line ${i + 1} is not JSON`, { file: path });
    }
    const m = (v as { messages?: unknown }).messages;
    if (!Array.isArray(m) || !m.every((x) => typeof x?.role === "string" && typeof x?.content === "string"))
      throw new InputError(`line ${i + 1} needs "messages": [{role, content}, ...]`, { file: path });
    out.push({ messages: m as Message[] });
  });
  if (out.length === 0) throw new InputError("no examples", { file: path });
  return out;
}

export async function runLoraTraining(o: LoraRunOptions): Promise<LoraRunSummary> {
  const { config, params } = await loadTrainBase(o.base);
  const f = await openGGUF(o.base);
  let tok: Tokenizer;
  try {
    tok = Tokenizer.fromMetadata(f.metadata);
  } finally {
    await f.close();
  }
  if (o.seqLen > config.ctx)
    throw new InputError(`--seq-len ${o.seqLen} exceeds the model's context ${config.ctx}`);
  const enc = {
    encode(text: string, out: number[] = []): number[] {
      for (const id of tok.encode(text, { addSpecial: false, parseSpecial: true })) out.push(id);
      return out;
    },
  };
  const examples = typeof o.data === "string" ? await readExamples(o.data) : o.data;
  const data = tokenizeExamples(examples, enc, Math.max(0, tok.eos));
  const work = o.work ?? join(dirname(o.out), ".lora-work");
  await mkdir(work, { recursive: true });
  const ck = join(work, "lora.ckpt");
  const r = await train({
    config,
    data,
    batch: o.batch,
    seqLen: o.seqLen,
    steps: o.steps,
    stopAt: o.stopAt,
    lr: { maxLr: o.lr, minLr: o.lr / 10, warmup: Math.max(1, Math.min(20, Math.floor(o.steps / 10))) },
    clip: 1,
    seed: o.seed,
    checkpointPath: ck,
    checkpointEvery: 50,
    resumeFrom: o.resume ? ck : undefined,
    progress: o.progress,
    lora: { rank: o.rank, alpha: o.alpha, targets: o.targets, base: params },
  });
  await writeLoraAdapter(o.out, r.lora!);
  return {
    steps: r.step,
    firstLoss: r.losses[0] ?? NaN,
    finalLoss: r.losses[r.losses.length - 1] ?? NaN,
    seconds: r.seconds,
    tokensPerSec: r.tokens / Math.max(r.seconds, 1e-9),
    adapterParams: r.lora!.params.length,
    out: o.out,
  };
}
