/**
 * An open-addressing hash table from a pair of non-negative int32 keys to an int32 value, stored
 * in typed arrays (no per-entry objects, no string keys). SentencePiece uses it to memoise
 * "(left symbol id, right symbol id) -> id of the token spelled by their concatenation, or -1",
 * so each distinct adjacent pair costs one string concatenation + Map lookup per table lifetime
 * instead of one per occurrence.
 */

/** Returned by `get` when the pair has not been stored. */
export const PAIR_ABSENT = -2;

export class PairTable {
  /** Slot i holds keys (keyA[i], keyB[i]) -> val[i]; keyA = -1 marks an empty slot. */
  private keyA: Int32Array;
  private keyB: Int32Array;
  private val: Int32Array;
  private mask: number;
  private count = 0;

  /** Capacity is a power of two >= 2 * initial; the table is cleared once it holds `limit` pairs. */
  constructor(
    initial = 1 << 12,
    private readonly limit = 1 << 21,
  ) {
    let cap = 16;
    while (cap < 2 * initial) cap <<= 1;
    this.keyA = new Int32Array(cap).fill(-1);
    this.keyB = new Int32Array(cap);
    this.val = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  private slotOf(a: number, b: number): number {
    // Multiplicative mixing of both keys; Math.imul keeps it in int32.
    const h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x632be5ab, 0x85ebca77);
    return (h ^ (h >>> 15)) & this.mask;
  }

  get(a: number, b: number): number {
    const { keyA, keyB, mask } = this;
    for (let i = this.slotOf(a, b); ; i = (i + 1) & mask) {
      const k = keyA[i];
      if (k === -1) return PAIR_ABSENT;
      if (k === a && keyB[i] === b) return this.val[i];
    }
  }

  /** Store a pair not yet present (callers look up first). */
  set(a: number, b: number, v: number): void {
    if (a < 0 || b < 0) throw new RangeError(`pair keys must be non-negative, got (${a}, ${b})`);
    if (this.count >= this.limit) this.clear();
    if (2 * (this.count + 1) > this.keyA.length) this.grow();
    this.insert(a, b, v);
  }

  clear(): void {
    this.keyA.fill(-1);
    this.count = 0;
  }

  private insert(a: number, b: number, v: number): void {
    const { keyA, keyB, mask } = this;
    let i = this.slotOf(a, b);
    while (keyA[i] !== -1) {
      if (keyA[i] === a && keyB[i] === b) {
        this.val[i] = v;
        return;
      }
      i = (i + 1) & mask;
    }
    keyA[i] = a;
    keyB[i] = b;
    this.val[i] = v;
    this.count++;
  }

  private grow(): void {
    const { keyA, keyB, val } = this;
    const cap = keyA.length * 2;
    this.keyA = new Int32Array(cap).fill(-1);
    this.keyB = new Int32Array(cap);
    this.val = new Int32Array(cap);
    this.mask = cap - 1;
    this.count = 0;
    for (let i = 0; i < keyA.length; i++) if (keyA[i] !== -1) this.insert(keyA[i], keyB[i], val[i]);
  }
}
