/**
 * Prompt + completion sequences laid out as training rows for the RL and distillation losses:
 * one sequence per row of T tokens, padded; position t predicts token t+1, and only positions
 * whose target is a completion token take part in the loss (`completion[b*T + t] = 1`).
 *
 *   row b:  [p0 p1 ... pk | c0 c1 ... cm | pad ...]
 *   target: [p1 ...    c0 | c1 ...   eos | pad ...]      completion: 1 on targets c0..cm
 */
import { InputError } from "../../errors.js";

export interface Sequence {
  prompt: number[];
  completion: number[];
}

export interface SeqBatch {
  B: number;
  T: number;
  tokens: Int32Array;
  targets: Int32Array;
  /** 1 where the target is a completion token */
  completion: Uint8Array;
  /** row of each sequence, and its completion positions' range [start, end) in the flat arrays */
  spans: { row: number; start: number; end: number }[];
}

export function packSequences(seqs: readonly Sequence[], B: number, T: number, pad: number): SeqBatch {
  if (seqs.length > B) throw new InputError(`${seqs.length} sequences do not fit ${B} rows`, { field: "B" });
  const tokens = new Int32Array(B * T).fill(pad);
  const targets = new Int32Array(B * T).fill(pad);
  const completion = new Uint8Array(B * T);
  const spans: SeqBatch["spans"] = [];
  seqs.forEach((s, row) => {
    const all = [...s.prompt, ...s.completion];
    // the row holds T inputs and predicts T targets: at most T+1 tokens of the sequence
    const n = Math.min(all.length, T + 1);
    if (s.prompt.length < 1 || s.prompt.length >= n)
      throw new InputError(
        `sequence ${row}: prompt of ${s.prompt.length} tokens leaves no completion in T=${T}`,
        {
          field: "T",
        },
      );
    const o = row * T;
    for (let t = 0; t < n - 1; t++) {
      tokens[o + t] = all[t];
      targets[o + t] = all[t + 1];
      if (t + 1 >= s.prompt.length) completion[o + t] = 1;
    }
    spans.push({ row, start: o + s.prompt.length - 1, end: o + n - 1 });
  });
  return { B, T, tokens, targets, completion, spans };
}
