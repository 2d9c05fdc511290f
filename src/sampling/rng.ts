/**
 * Seeded pseudo-random numbers for sampling: xoshiro128** (32-bit state words, so it runs on
 * plain JS numbers), seeded through splitmix32 so nearby seeds give unrelated streams. The same
 * seed always gives the same sequence, which makes `seed` in a request reproducible.
 */
import { InputError } from "../errors.js";

function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [x, (z ^ (z >>> 16)) >>> 0];
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** seed: any safe integer (negative and > 2^32 seeds fold both halves in). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new InputError(`seed must be a safe integer, got ${seed}`, { field: "seed" });
    const hi = Math.floor(seed / 0x100000000) | 0;
    let x = (seed | 0) ^ Math.imul(hi, 0x27d4eb2d);
    const s: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [nx, out] = splitmix32(x);
      x = nx;
      s.push(out);
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1; // the all-zero state is a fixed point
    [this.s0, this.s1, this.s2, this.s3] = s;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A fresh seed when the request gives none. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x100000000);
}
