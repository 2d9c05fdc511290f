/**
 * Logits processors: each narrows or reshapes a Candidates set in place, with llama.cpp's
 * semantics (src/llama-sampler.cpp) so the same parameters mean the same thing:
 *  - logit bias: logit += bias[id]
 *  - penalties over the last N tokens, c = count of id: repetition divides a positive logit by
 *    the penalty and multiplies a non-positive one; then logit -= c * frequency + (c > 0) * presence
 *  - top-k: keep the k largest logits (k <= 0: off)
 *  - top-p: sort, softmax, keep the shortest prefix whose cumulative probability reaches p
 *  - min-p: keep tokens with p_i >= min_p * p_max, i.e. logit >= max_logit + ln(min_p)
 *  - temperature: logit /= t (t <= 0 is greedy: only the largest logit survives)
 * `minKeep` (default 1) is the least number of candidates a cutting processor leaves.
 */
import type { Candidates } from "./candidates.js";

export interface LogitsProcessor {
  readonly name: string;
  apply(c: Candidates): void;
}

export class LogitBias implements LogitsProcessor {
  readonly name = "logit_bias";
  constructor(private readonly bias: ReadonlyMap<number, number>) {}
  apply(c: Candidates): void {
    if (this.bias.size === 0) return;
    for (let i = 0; i < c.size; i++) {
      const b = this.bias.get(c.ids[i]);
      if (b !== undefined) c.logits[i] += b;
    }
    c.sorted = false;
  }
}

export interface PenaltyParams {
  /** > 1 discourages repeats (1 = off). */
  repeat: number;
  frequency: number;
  presence: number;
}

/** Counts of each token in a window of recent tokens (the history the penalties read). */
export function tokenCounts(history: ArrayLike<number>, lastN: number): Map<number, number> {
  const counts = new Map<number, number>();
  const from = lastN < 0 ? 0 : Math.max(0, history.length - lastN);
  for (let i = from; i < history.length; i++) counts.set(history[i], (counts.get(history[i]) ?? 0) + 1);
  return counts;
}

export class Penalties implements LogitsProcessor {
  readonly name = "penalties";
  private counts = new Map<number, number>();
  constructor(
    private readonly p: PenaltyParams,
    /** Window of recent tokens (-1: all of them, 0: off). */
    private readonly lastN: number,
  ) {}
  get active(): boolean {
    return this.lastN !== 0 && (this.p.repeat !== 1 || this.p.frequency !== 0 || this.p.presence !== 0);
  }
  /** Set the history the next apply() penalises. */
  setHistory(history: ArrayLike<number>): void {
    this.counts = this.active ? tokenCounts(history, this.lastN) : new Map();
  }
  apply(c: Candidates): void {
    if (!this.active || this.counts.size === 0) return;
    for (let i = 0; i < c.size; i++) {
      const n = this.counts.get(c.ids[i]);
      if (n === undefined) continue;
      let l = c.logits[i];
      l = l <= 0 ? l * this.p.repeat : l / this.p.repeat;
      l -= n * this.p.frequency + this.p.presence;
      c.logits[i] = l;
    }
    c.sorted = false;
  }
}

export class TopK implements LogitsProcessor {
  readonly name = "top_k";
  constructor(
    private readonly k: number,
    private readonly minKeep = 1,
  ) {}
  apply(c: Candidates): void {
    if (this.k <= 0) return;
    const k = Math.min(Math.max(this.k, this.minKeep), c.size);
    if (k === c.size) return;
    c.sortPrefix(k);
    c.size = k;
    c.sorted = true;
  }
}

export class TopP implements LogitsProcessor {
  readonly name = "top_p";
  constructor(
    private readonly p: number,
    private readonly minKeep = 1,
  ) {}
  apply(c: Candidates): void {
    if (this.p >= 1 || c.size === 0) return;
    // Softmax normaliser over every live entry (order-free), then a sorted prefix grown until its
    // cumulative probability reaches p: only the nucleus is ever sorted.
    let max = -Infinity;
    for (let i = 0; i < c.size; i++) if (c.logits[i] > max) max = c.logits[i];
    if (max === -Infinity) return; // all masked: uniform, nothing to cut
    let sum = 0;
    for (let i = 0; i < c.size; i++) sum += Math.exp(c.logits[i] - max);
    for (let k = Math.min(64, c.size); ; k = Math.min(c.size, k * 4)) {
      c.sortPrefix(k);
      const n = c.sorted ? c.size : k;
      let cum = 0;
      for (let i = 0; i < n; i++) {
        cum += Math.exp(c.logits[i] - max) / sum;
        if (cum >= this.p && i + 1 >= this.minKeep) {
          c.size = i + 1;
          c.sorted = true;
          return;
        }
      }
      if (c.sorted) return; // the whole set is the nucleus
    }
  }
}

export class MinP implements LogitsProcessor {
  readonly name = "min_p";
  constructor(
    private readonly p: number,
    private readonly minKeep = 1,
  ) {}
  apply(c: Candidates): void {
    if (this.p <= 0 || c.size === 0) return;
    // Survivors are the entries within log(p) of the best: count them, then sort only that prefix.
    let max = -Infinity;
    for (let i = 0; i < c.size; i++) if (c.logits[i] > max) max = c.logits[i];
    const min = max + Math.log(this.p);
    let count = 0;
    for (let i = 0; i < c.size; i++) if (c.logits[i] >= min) count++;
    const k = Math.min(c.size, Math.max(1, count, this.minKeep)); // the top token always survives
    c.sortPrefix(k);
    c.size = k;
    c.sorted = true;
  }
}

export class Temperature implements LogitsProcessor {
  readonly name = "temperature";
  constructor(private readonly t: number) {}
  apply(c: Candidates): void {
    if (this.t === 1) return;
    if (this.t <= 0) {
      // Greedy: keep only the best candidate.
      const b = c.argmax();
      c.ids[0] = c.ids[b];
      c.logits[0] = c.logits[b];
      c.size = 1;
      c.sorted = true;
      return;
    }
    for (let i = 0; i < c.size; i++) c.logits[i] /= this.t;
  }
}
