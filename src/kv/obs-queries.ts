/**
 * A sequence's newest query rows per layer: SnapKV's observation window (kv/eviction.ts SnapKV).
 * The forward pass records each attention layer's q rows here (the last `window` positions), in
 * the basis the K rows are stored in (RoPE'd at the query's position; Hadamard-rotated when the
 * cache rotates K), so q . k against a stored row is that query's attention logit. When positions
 * move (a compaction: engine/context-shift.ts) the queries move with them, rotated by the same
 * RoPE shift as the K rows, so the logits they give stay what they were.
 */
export class ObservedQueries {
  /** Per layer: [window][qDim] query rows, slot = position % window. */
  readonly q: Float32Array[];
  /** Per slot: the position its rows belong to, -1 when empty. */
  readonly pos: Int32Array;

  constructor(
    readonly window: number,
    readonly nLayers: number,
    readonly qDim: number,
  ) {
    this.q = Array.from({ length: nLayers }, () => new Float32Array(window * qDim));
    this.pos = new Int32Array(window).fill(-1);
  }

  /** Layer `layer`'s q rows for positions p0 .. p0 + nt - 1 (rows from q[qo]); keeps the newest. */
  record(layer: number, q: Float32Array, qo: number, nt: number, p0: number): void {
    const D = this.qDim;
    for (let t = Math.max(0, nt - this.window); t < nt; t++) {
      const slot = (p0 + t) % this.window;
      this.q[layer].set(q.subarray(qo + t * D, qo + (t + 1) * D), slot * D);
      this.pos[slot] = p0 + t;
    }
  }

  /** Slots holding a query at a position below `len`, oldest first. */
  slots(len: number): number[] {
    const s: number[] = [];
    for (let i = 0; i < this.window; i++) if (this.pos[i] >= 0 && this.pos[i] < len) s.push(i);
    return s.sort((a, b) => this.pos[a] - this.pos[b]);
  }

  /** Forget queries at positions >= n (the cache was cut there). */
  truncate(n: number): void {
    for (let i = 0; i < this.window; i++) if (this.pos[i] >= n) this.pos[i] = -1;
  }

  /**
   * Positions moved: a query at p goes to to(p) (dropped when negative), each layer's row passed
   * through `rotate(layer, row, p - to(p))` first (the RoPE shift its K row got).
   */
  move(to: (p: number) => number, rotate: (layer: number, row: Float32Array, d: number) => void): void {
    const D = this.qDim;
    const old = this.slots(Infinity).map((s) => ({
      p: this.pos[s],
      rows: this.q.map((q) => q.slice(s * D, (s + 1) * D)),
    }));
    this.pos.fill(-1);
    for (const { p, rows } of old) {
      const np = to(p);
      if (np < 0) continue;
      const slot = np % this.window;
      rows.forEach((row, l) => {
        if (np !== p) rotate(l, row, p - np);
        this.q[l].set(row, slot * D);
      });
      this.pos[slot] = np;
    }
  }
}
