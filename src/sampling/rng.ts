/**
 * The seeded pseudo-random numbers of sampling, training data, batches and weight initialisation:
 * xoshiro128** (32-bit state words, exact in plain JS integer arithmetic, no BigInt) seeded
 * through splitmix32 so nearby seeds give unrelated streams. The same seed gives the same stream
 * on every platform, which makes a request's `seed`, the training corpus and its held-out split
 * reproducible. The test-model factory draws its weights from `Rng.stream(seed, fnv1a32(name))`
 * (one stream per tensor) with `gaussian()`, whose values are unchanged from its former own class.
 */
import { InputError } from "../errors.js";

/** splitmix32 step: spreads a 32-bit seed into well-mixed state words. */
function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [x, (z ^ (z >>> 16)) >>> 0];
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** 32-bit FNV-1a over a string's UTF-16 units (the factory's per-tensor stream numbers). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** FNV-1a over a string's UTF-16 units with a final avalanche: a stable 32-bit seed or split key. */
export function hash32(s: string): number {
  let h = fnv1a32(s) | 0;
  // final avalanche so nearby strings land far apart
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

export class Rng {
  private readonly s = new Uint32Array(4);
  /** gaussian()'s second Box–Muller value, kept for its next call. */
  private spare: number | undefined;

  /** seed: any safe integer (negative and > 2^32 seeds fold both halves in). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed))
      throw new InputError(`seed must be a safe integer, got ${seed}`, { field: "seed" });
    const hi = Math.floor(seed / 0x100000000) | 0;
    let x = (seed | 0) ^ Math.imul(hi, 0x27d4eb2d);
    for (let i = 0; i < 4; i++) {
      const [nx, out] = splitmix32(x);
      x = nx;
      this.s[i] = out;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1; // all-zero is a fixed point
  }

  /**
   * Independent numbered streams from one seed (the test-model factory: one per tensor). Seeded
   * as `new Rng` is for seed < 2^32 and stream 0, except that the last state word is forced odd.
   */
  static stream(seed: number, stream: number): Rng {
    const r = new Rng(0);
    let x = (seed ^ Math.imul(stream, 0x27d4eb2d)) | 0;
    for (let i = 0; i < 4; i++) {
      const [nx, out] = splitmix32(x);
      x = nx;
      r.s[i] = out;
    }
    r.s[3] |= 1;
    return r;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits (two draws): the sampler's. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [0, 1) with 32 random bits (one draw): data generation and initialisation. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  pick<T>(arr: readonly T[]): T {
    return arr[Math.floor(this.uniform() * arr.length)];
  }

  /** Standard normal (Box-Muller, one value per two draws), for weight initialisation. */
  normal(): number {
    let u = this.uniform();
    if (u < 1e-12) u = 1e-12;
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Standard normal by Box–Muller using both values of a pair (the second is kept for the next
   * call): the test-model factory's weights.
   */
  gaussian(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log is finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Fill `out` with mean + std * gaussian(). */
  fillNormal(out: Float32Array, mean: number, std: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.gaussian();
    return out;
  }

  /** The 4 state words, for checkpoints (a pending gaussian() value is not part of it). */
  getState(): number[] {
    return Array.from(this.s);
  }

  static fromState(state: readonly number[]): Rng {
    const r = new Rng(0);
    r.s.set(state.map((x) => x >>> 0));
    return r;
  }
}

/** A fresh seed when the request gives none. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x100000000);
}
