/**
 * The candidate set a sampler chain works on: parallel arrays of token ids and logits, a live
 * size (processors that cut the set shrink it) and whether the first `size` entries are sorted
 * by logit, descending. Mirrors llama.cpp's llama_token_data_array (id, logit, sorted, size).
 */
export class Candidates {
  ids: Int32Array;
  logits: Float32Array;
  size: number;
  sorted = false;

  constructor(ids: Int32Array, logits: Float32Array) {
    this.ids = ids;
    this.logits = logits;
    this.size = ids.length;
  }

  /** All vocabulary entries, in id order (logits copied: the model's buffer is not modified). */
  static fromLogits(logits: Float32Array): Candidates {
    const ids = new Int32Array(logits.length);
    for (let i = 0; i < ids.length; i++) ids[i] = i;
    return new Candidates(ids, Float32Array.from(logits));
  }

  /** Sort the live entries by logit, descending (ties: lower id first, so order is deterministic). */
  sort(): void {
    if (this.sorted) return;
    const n = this.size;
    const order = Array.from({ length: n }, (_, i) => i);
    const lg = this.logits;
    const id = this.ids;
    order.sort((a, b) => lg[b] - lg[a] || id[a] - id[b]);
    const ids = new Int32Array(n);
    const logits = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = id[order[i]];
      logits[i] = lg[order[i]];
    }
    this.ids = ids;
    this.logits = logits;
    this.sorted = true;
  }

  /**
   * Put the k best live entries first, in sort() order (logit descending, ties: lower id), the rest
   * after them in no particular order. Top-k, min-p and top-p only ever read such a prefix, so on a
   * 150k-entry vocabulary they select (quickselect, O(n)) and sort k entries instead of all of them:
   * a full sort per token cost ~100 ms and stalled every other sequence in the batch.
   */
  sortPrefix(k: number): void {
    const n = this.size;
    if (this.sorted) return;
    if (k >= n / 2) {
      this.sort();
      return;
    }
    const lg = this.logits;
    const id = this.ids;
    // a before b in sort() order
    const before = (a: number, b: number) => lg[a] > lg[b] || (lg[a] === lg[b] && id[a] < id[b]);
    const swap = (a: number, b: number) => {
      const t = lg[a];
      lg[a] = lg[b];
      lg[b] = t;
      const u = id[a];
      id[a] = id[b];
      id[b] = u;
    };
    // Quickselect (Lomuto partition, median-of-three pivot) until [0, k) holds the k best
    // entries. Invariant: everything left of lo precedes everything from lo on, and everything
    // right of hi follows everything up to hi. Ids are distinct, so `before` is a strict order.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(mid, lo)) swap(mid, lo);
      if (before(hi, lo)) swap(hi, lo);
      if (before(hi, mid)) swap(hi, mid);
      swap(mid, hi); // the median of the three is the pivot, at hi
      let store = lo;
      for (let i = lo; i < hi; i++)
        if (before(i, hi)) {
          swap(i, store);
          store++;
        }
      swap(store, hi);
      if (store === k - 1 || store === k) break;
      if (store < k) lo = store + 1;
      else hi = store - 1;
    }
    // Sort the prefix itself (k entries).
    const order = Array.from({ length: k }, (_, i) => i);
    order.sort((a, b) => lg[b] - lg[a] || id[a] - id[b]);
    const pl = order.map((i) => lg[i]);
    const pi = order.map((i) => id[i]);
    for (let i = 0; i < k; i++) {
      lg[i] = pl[i];
      id[i] = pi[i];
    }
  }

  /** Keep entries whose index passes `keep` (order preserved). */
  filter(keep: (i: number) => boolean): void {
    let w = 0;
    for (let i = 0; i < this.size; i++) {
      if (!keep(i)) continue;
      this.ids[w] = this.ids[i];
      this.logits[w] = this.logits[i];
      w++;
    }
    this.size = w;
  }

  /** Probabilities of the live entries: softmax of their logits (f64, max subtracted). */
  probs(): Float64Array {
    const n = this.size;
    let max = -Infinity;
    for (let i = 0; i < n; i++) if (this.logits[i] > max) max = this.logits[i];
    const p = new Float64Array(n);
    if (max === -Infinity) {
      p.fill(1 / n);
      return p;
    }
    let sum = 0;
    for (let i = 0; i < n; i++) {
      p[i] = Math.exp(this.logits[i] - max);
      sum += p[i];
    }
    for (let i = 0; i < n; i++) p[i] /= sum;
    return p;
  }

  /** Index of the largest logit among live entries (ties: lowest id). */
  argmax(): number {
    let b = 0;
    for (let i = 1; i < this.size; i++) {
      const d = this.logits[i] - this.logits[b];
      if (d > 0 || (d === 0 && this.ids[i] < this.ids[b])) b = i;
    }
    return b;
  }
}
