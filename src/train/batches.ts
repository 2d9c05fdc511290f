/**
 * Tokenized SFT corpus and batch sampling. Examples are encoded through their ChatML segments;
 * `train[i]` says whether token i is one the model is trained to predict (assistant output).
 *
 * A batch row starts at a random example start and runs T+1 tokens into the following examples
 * (inputs = row[0..T), targets = row[1..T]); past the corpus end it is padded with masked pad
 * tokens. Which starts a step uses is a pure function of (seed, step), so a resumed run sees
 * exactly the batches an uninterrupted run would.
 */
import { InputError } from "../errors.js";
import { chatSegments, type Message } from "./data/format.js";
import type { BpeEncoder } from "./bpe/encoder.js";
import { Rng, hash32 } from "../sampling/rng.js";

export interface TokenizedSet {
  ids: Int32Array;
  /** 1 where the token is a training target */
  train: Uint8Array;
  /** index of each example's first token */
  starts: Int32Array;
  pad: number;
}

export function tokenizeExamples(
  examples: readonly { messages: Message[] }[],
  /** Our BPE, or any tokenizer with the same append-encode (a model's, for LoRA runs). */
  enc: Pick<BpeEncoder, "encode">,
  pad: number,
): TokenizedSet {
  const ids: number[] = [];
  const train: number[] = [];
  const starts: number[] = [];
  for (const ex of examples) {
    starts.push(ids.length);
    for (const seg of chatSegments(ex.messages)) {
      const before = ids.length;
      enc.encode(seg.text, ids);
      for (let i = before; i < ids.length; i++) train.push(seg.train ? 1 : 0);
    }
  }
  return { ids: Int32Array.from(ids), train: Uint8Array.from(train), starts: Int32Array.from(starts), pad };
}

export interface Batch {
  tokens: Int32Array;
  targets: Int32Array;
  mask: Uint8Array;
  /** number of masked (trained) positions */
  count: number;
}

export function sampleBatch(set: TokenizedSet, B: number, T: number, seed: number, step: number): Batch {
  if (set.starts.length === 0)
    throw new InputError("cannot sample batches from an empty corpus", { field: "data" });
  const rng = new Rng(hash32(`batch:${seed}:${step}`));
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const mask = new Uint8Array(B * T);
  let count = 0;
  const n = set.ids.length;
  for (let b = 0; b < B; b++) {
    const s = set.starts[Math.floor(rng.uniform() * set.starts.length)];
    for (let t = 0; t < T; t++) {
      const i = s + t;
      tokens[b * T + t] = i < n ? set.ids[i] : set.pad;
      const j = i + 1;
      if (j < n) {
        targets[b * T + t] = set.ids[j];
        const m = set.train[j];
        mask[b * T + t] = m;
        count += m;
      } else targets[b * T + t] = set.pad;
    }
  }
  return { tokens, targets, mask, count };
}
