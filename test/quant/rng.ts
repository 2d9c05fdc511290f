/** Small seeded PRNG for reproducible test inputs (mulberry32 + Box-Muller). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  gauss(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  uint32(): number {
    return (this.next() * 4294967296) >>> 0;
  }
}

/**
 * Rows of varied distributions for comparing against ggml: gaussian at scales from 1e-8 to 1e4,
 * heavy tails, sparse rows, one-signed rows, values on a half-integer grid (exact rounding ties),
 * and rows whose block scales overflow f16 (inf/NaN after dequantization).
 */
export function fuzzRows(rng: Rng, nRows: number, nPerRow: number, extremes: boolean): Float32Array {
  const out = new Float32Array(nRows * nPerRow);
  for (let r = 0; r < nRows; r++) {
    const kind = r % (extremes ? 8 : 7);
    const scale = Math.pow(10, -8 + 12 * rng.next());
    for (let i = 0; i < nPerRow; i++) {
      const g = rng.gauss();
      let v: number;
      switch (kind) {
        case 0:
          v = g * scale;
          break;
        case 1:
          v = g * g * g * scale;
          break; // heavy tails
        case 2:
          v = rng.next() < 0.9 ? 0 : g * scale;
          break; // sparse
        case 3:
          v = Math.abs(g) * scale + scale;
          break; // all positive, min > 0
        case 4:
          v = -Math.abs(g) * scale;
          break; // all negative
        case 5:
          v = Math.round(g * 8) / 2;
          break; // half-integer grid: rounding ties
        case 6:
          v = (g + 3) * 0.01;
          break; // offset mean
        default:
          v = g * 3e5;
          break; // f16 scale overflow for some formats
      }
      out[r * nPerRow + i] = v;
    }
  }
  return out;
}
