/**
 * The scheduler decides, before every forward step, how many tokens each sequence computes:
 * {sequenceId: nTokens}. Policy (vLLM v1-like):
 *  1. running sequences that decode (1 pending token) first, oldest first;
 *  2. then running prefills, in chunks of at most `chunk` tokens, so a long prompt is spread
 *     over several steps and never stalls the decoders;
 *  3. then waiting sequences are admitted (FIFO) while there are slots and KV blocks; a newly
 *     admitted sequence first adopts cached prefix blocks.
 * Every step's tokens fit `maxBatchTokens`. KV blocks are reserved here, before the step; when
 * the pool runs dry, the newest running sequence is preempted (blocks freed, back to the front
 * of the queue, recomputed later) rather than failing anyone.
 */
import type { Sequence } from "./sequence.js";

export interface SchedulerOptions {
  /** Sequences decoding together (the server's --parallel). */
  maxSeqs: number;
  /** Tokens per forward step across all sequences. */
  maxBatchTokens: number;
  /** Largest prefill piece per sequence per step. */
  chunk: number;
}

export class Scheduler {
  readonly waiting: Sequence[] = [];
  readonly running: Sequence[] = [];
  preemptions = 0;

  constructor(readonly opts: SchedulerOptions) {}

  get hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  add(seq: Sequence): void {
    this.waiting.push(seq);
  }

  /** Drop a sequence from either queue and free its blocks. */
  remove(seq: Sequence): void {
    for (const q of [this.waiting, this.running]) {
      const i = q.indexOf(seq);
      if (i >= 0) q.splice(i, 1);
    }
    seq.cache.free();
    seq.draftCache?.free();
  }

  private preemptNewest(): Sequence | undefined {
    let newest: Sequence | undefined;
    for (const s of this.running) if (!newest || s.arrival > newest.arrival) newest = s;
    if (!newest) return undefined;
    this.running.splice(this.running.indexOf(newest), 1);
    newest.cache.free();
    newest.draftCache?.free();
    this.waiting.unshift(newest);
    this.preemptions++;
    return newest;
  }

  /** Reserve room for n more tokens of s, preempting newer sequences as needed; false if s itself was preempted. */
  private reserve(s: Sequence, n: number): boolean {
    while (!s.cache.reserve(s.cache.length + n)) {
      const p = this.preemptNewest();
      if (!p || p === s) return false;
    }
    return true;
  }

  /** The plan for the next forward step: sequence id -> tokens to compute. */
  step(): Map<number, number> {
    const plan = new Map<number, number>();
    let budget = this.opts.maxBatchTokens;
    const byAge = () => [...this.running].sort((a, b) => a.arrival - b.arrival);
    for (const decoding of [true, false]) {
      for (const s of byAge()) {
        if (budget <= 0) break;
        if (!this.running.includes(s) || (s.pending === 1) !== decoding) continue;
        const n = s.clampChunk(Math.min(s.pending, budget, this.opts.chunk));
        if (!this.reserve(s, n)) continue;
        plan.set(s.id, n);
        budget -= n;
      }
    }
    // A preemption may have removed a sequence already planned.
    for (const id of [...plan.keys()]) if (!this.running.some((s) => s.id === id)) plan.delete(id);
    while (budget > 0 && this.waiting.length > 0 && this.running.length < this.opts.maxSeqs) {
      const s = this.waiting[0];
      if (s.cache.length === 0)
        s.cachedTokens = Math.max(s.cachedTokens, Math.min(s.cache.adoptPrefix(s.tokens), s.promptLen));
      const n = s.clampChunk(Math.min(s.pending, budget, this.opts.chunk));
      if (!s.cache.reserve(s.cache.length + n)) {
        s.cache.free(); // wait for blocks; adopt again next time
        break;
      }
      this.waiting.shift();
      this.running.push(s);
      plan.set(s.id, n);
      budget -= n;
    }
    return plan;
  }
}
