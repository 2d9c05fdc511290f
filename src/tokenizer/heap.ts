/**
 * Max-priority queue of bigrams, the merge work list of SPM and BPE: highest score first, equal
 * scores leftmost (smallest left symbol index) first, the reference's order for both (BPE queues
 * minus the merge rank). Entries live in growable typed arrays indexed by slot, so no per-entry
 * objects; the heap holds slots.
 */
export class BigramQueue {
  score = new Float64Array(64);
  left = new Int32Array(64);
  right = new Int32Array(64);
  /** Merged length in UTF-16 units when queued (for the staleness check). */
  size_ = new Int32Array(64);
  /** Token id of the merged pair. */
  id = new Int32Array(64);
  private heap = new Int32Array(64);
  private nSlots = 0;
  size = 0;

  clear(): void {
    this.nSlots = 0;
    this.size = 0;
  }

  /** Is slot a before slot b? */
  private before(a: number, b: number): boolean {
    const sa = this.score[a];
    const sb = this.score[b];
    return sa > sb || (sa === sb && this.left[a] < this.left[b]);
  }

  push(score: number, l: number, r: number, size: number, id: number): void {
    if (this.nSlots === this.score.length) this.grow();
    const s = this.nSlots++;
    this.score[s] = score;
    this.left[s] = l;
    this.right[s] = r;
    this.size_[s] = size;
    this.id[s] = id;
    const h = this.heap;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(s, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = s;
  }

  pop(): number {
    const h = this.heap;
    const top = h[0];
    const last = h[--this.size];
    const n = this.size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const c = l + 1 < n && this.before(h[l + 1], h[l]) ? l + 1 : l;
      if (!this.before(h[c], last)) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
    return top;
  }

  private grow(): void {
    const cap = this.score.length * 2;
    const g = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.score = g(this.score, (n) => new Float64Array(n));
    this.left = g(this.left, (n) => new Int32Array(n));
    this.right = g(this.right, (n) => new Int32Array(n));
    this.size_ = g(this.size_, (n) => new Int32Array(n));
    this.id = g(this.id, (n) => new Int32Array(n));
    this.heap = g(this.heap, (n) => new Int32Array(n));
  }
}
