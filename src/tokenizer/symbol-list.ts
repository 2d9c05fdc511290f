/**
 * The symbols of one word while it is merged, for SPM and BPE alike: symbol k has an id, a length
 * (0 = merged away into its left neighbour) and doubly linked neighbours (-1 at the ends), kept in
 * typed arrays grown on demand, plus the BigramQueue of candidate merges. The model decides which
 * adjacent pairs merge and with what priority (MergeRule.queuePair); mergeAll applies the queued
 * merges best first until none is left. A queue entry is stale, and skipped, when a side was
 * merged away or grew since the pair was queued.
 */
import { BigramQueue } from "./heap.js";

export interface MergeRule {
  /** Queue the pair (l, r) on the list's queue if their symbols merge; l or r may be -1. */
  queuePair(l: number, r: number): void;
}

export class SymbolList {
  sym = new Int32Array(64);
  len = new Int32Array(64);
  prev = new Int32Array(64);
  next = new Int32Array(64);
  readonly queue = new BigramQueue();

  /** Room for n symbols. */
  reserve(n: number): void {
    if (this.sym.length >= n) return;
    let cap = this.sym.length;
    while (cap < n) cap *= 2;
    this.sym = new Int32Array(cap);
    this.len = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
  }

  /** Symbol k: its id and length, linked to k - 1 and k + 1 (mergeAll ends the list). */
  set(k: number, id: number, len: number): void {
    this.sym[k] = id;
    this.len[k] = len;
    this.prev[k] = k - 1;
    this.next[k] = k + 1;
  }

  /** Merge the n symbols set: queue every adjacent pair the rule merges, then apply the best
   *  queued pair and queue its new neighbours' pairs, until the queue is empty. The survivors
   *  are then the list from symbol 0 along `next`. */
  mergeAll(n: number, rule: MergeRule): void {
    if (n === 0) return;
    const { sym, len, prev, next, queue } = this;
    next[n - 1] = -1;
    queue.clear();
    for (let k = 1; k < n; k++) rule.queuePair(k - 1, k);
    while (queue.size > 0) {
      const s = queue.pop();
      const l = queue.left[s];
      const r = queue.right[s];
      if (len[l] === 0 || len[r] === 0 || len[l] + len[r] !== queue.size_[s] || next[l] !== r) continue;
      sym[l] = queue.id[s];
      len[l] += len[r];
      len[r] = 0;
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      rule.queuePair(prev[l], l);
      rule.queuePair(l, next[l]);
    }
  }
}
