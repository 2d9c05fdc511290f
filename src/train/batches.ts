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
  /**
   * Input rows for some tokens (an image's encoder rows): rowOf[i] = -1, or the index of token i's
   * row in `rows` (rowWidth values each), which replaces its embedding in training.
   */
  rowOf?: Int32Array;
  rows?: Float32Array;
  rowWidth?: number;
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
  /** input rows (B*T, rowWidth) and where they apply, when the set has rows */
  inputRows?: Float32Array;
  inputAt?: Uint8Array;
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
  if (!set.rowOf || !set.rows || !set.rowWidth) return { tokens, targets, mask, count };
  // the same starts again (a pure function of seed and step), now for the rows
  const C = set.rowWidth;
  const inputRows = new Float32Array(B * T * C);
  const inputAt = new Uint8Array(B * T);
  const again = new Rng(hash32(`batch:${seed}:${step}`));
  for (let b = 0; b < B; b++) {
    const s = set.starts[Math.floor(again.uniform() * set.starts.length)];
    for (let t = 0; t < T && s + t < n; t++) {
      const r = set.rowOf[s + t];
      if (r < 0) continue;
      inputAt[b * T + t] = 1;
      inputRows.set(set.rows.subarray(r * C, r * C + C), (b * T + t) * C);
    }
  }
  return { tokens, targets, mask, count, inputRows, inputAt };
}
