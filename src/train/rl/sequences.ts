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

/**
 * Sequences laid end to end in B rows of T inputs, as the SFT loop's windows over the token stream
 * are (a row's context runs across the sequences before it): a sequence of L tokens takes L slots
 * and trains its completion targets; the slot of its last token has no target (pad, not trained). A sequence that does not fit a row's rest starts the next row when at
 * least `minCompletion` of its completion would fit there and not here; one longer than a row is
 * cut at the row's end. `add` returns false once the rows are full.
 */
export class StreamPacker {
  readonly tokens: Int32Array;
  readonly targets: Int32Array;
  readonly mask: Uint8Array;
  count = 0;
  /** each packed sequence's trained positions, [start, end) in the flat arrays (in order) */
  readonly spans: { start: number; end: number }[] = [];
  private row = 0;
  private col = 0;

  constructor(
    readonly B: number,
    readonly T: number,
    pad: number,
    private readonly minCompletion = 8,
  ) {
    this.tokens = new Int32Array(B * T).fill(pad);
    this.targets = new Int32Array(B * T).fill(pad);
    this.mask = new Uint8Array(B * T);
  }

  get full(): boolean {
    return this.row >= this.B;
  }

  add(s: Sequence): boolean {
    if (s.prompt.length < 1 || s.completion.length < 1)
      throw new InputError("a packed sequence needs a prompt and a completion", { field: "sequence" });
    const all = [...s.prompt, ...s.completion];
    const room = () => this.T - this.col;
    // completion targets that fit from here: slots room, the first completion target sits at slot prompt-1
    const fits = (r: number) => Math.min(r, all.length - 1) - (s.prompt.length - 1);
    if (!this.full && fits(room()) < Math.min(this.minCompletion, s.completion.length) && this.col > 0) {
      this.row++;
      this.col = 0;
    }
    if (this.full || fits(room()) < 1) return !this.full;
    const o = this.row * this.T + this.col;
    const n = Math.min(all.length, room());
    this.spans.push({ start: o + s.prompt.length - 1, end: o + Math.min(n, all.length - 1) });
    for (let t = 0; t < n; t++) {
      this.tokens[o + t] = all[t];
      if (t + 1 < all.length) {
        this.targets[o + t] = all[t + 1];
        if (t + 1 >= s.prompt.length) {
          this.mask[o + t] = 1;
          this.count++;
        }
      }
    }
    this.col += n;
    if (this.col >= this.T) {
      this.row++;
      this.col = 0;
    }
    return !this.full;
  }

  batch(): { tokens: Int32Array; targets: Int32Array; mask: Uint8Array; count: number } {
    return { tokens: this.tokens, targets: this.targets, mask: this.mask, count: this.count };
  }
}
