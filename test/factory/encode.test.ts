import { test } from "node:test";
import assert from "node:assert/strict";
import { fp32ToBf16 as f32ToBf16Bits } from "../../src/quant/bf16.js";
import { fp32ToFp16 as f32ToF16Bits } from "../../src/quant/f16.js";
import { Rng } from "../../src/sampling/rng.js";

/**
 * [f32 bits, ggml_fp32_to_fp16, ggml_fp32_to_bf16], computed by calling the prebuilt
 * libggml-base.so (node-llama-cpp) through python ctypes: ties, subnormals, overflow, NaN, random.
 */
const GGML_GOLDEN: [number, number, number][] = [
  [0x3f800000, 0x3c00, 0x3f80],
  [0x00000001, 0x0000, 0x0000],
  [0x33000000, 0x0000, 0x3300],
  [0x33000001, 0x0001, 0x3300],
  [0x387fc000, 0x03ff, 0x3880],
  [0x38800000, 0x0400, 0x3880],
  [0x477fe000, 0x7bff, 0x4780],
  [0x477ff000, 0x7c00, 0x4780],
  [0x477fefff, 0x7bff, 0x4780],
  [0x7f800000, 0x7c00, 0x7f80],
  [0xff800000, 0xfc00, 0xff80],
  [0x7fc00001, 0x7e00, 0x7fc0],
  [0x3f801000, 0x3c00, 0x3f80],
  [0x3f803000, 0x3c02, 0x3f80],
  [0x3f802fff, 0x3c01, 0x3f80],
  [0x80000000, 0x8000, 0x8000],
  [0x3e4ccccd, 0x3266, 0x3e4d],
  [0x38000000, 0x0200, 0x3800],
  [0x37ffffff, 0x0200, 0x3800],
  [0x337fffff, 0x0001, 0x3380],
  [0x9f767c45, 0x8000, 0x9f76],
  [0x4164d839, 0x4b27, 0x4165],
  [0xbde5c099, 0xaf2e, 0xbde6],
  [0x5bc8fbbc, 0x7c00, 0x5bc9],
  [0xcb91ce37, 0xfc00, 0xcb92],
  [0xb0c11fde, 0x8000, 0xb0c1],
  [0xf1446bea, 0xfc00, 0xf144],
  [0xd76d4330, 0xfc00, 0xd76d],
  [0xbd69fe29, 0xab50, 0xbd6a],
  [0xa6eb8c9e, 0x8000, 0xa6ec],
  [0xec1d7da0, 0xfc00, 0xec1d],
  [0x87b0b125, 0x8000, 0x87b1],
  [0x076ce2ef, 0x0000, 0x076d],
  [0xd7210dff, 0xfc00, 0xd721],
  [0x77330bdb, 0x7c00, 0x7733],
  [0xc6a53877, 0xf52a, 0xc6a5],
  [0xf17fd374, 0xfc00, 0xf180],
  [0x3fc1ea36, 0x3e0f, 0x3fc2],
  [0xa6233255, 0x8000, 0xa623],
  [0x0d464138, 0x0000, 0x0d46],
];

const f = new Float32Array(1);
const u = new Uint32Array(f.buffer);
const fromBits = (b: number) => ((u[0] = b), f[0]!);

test("f32 -> f16 / bf16 match ggml bit for bit", () => {
  for (const [bits, h, bf] of GGML_GOLDEN) {
    const x = fromBits(bits);
    assert.equal(f32ToF16Bits(x), h, `f16 of 0x${bits.toString(16)}`);
    assert.equal(f32ToBf16Bits(x), bf, `bf16 of 0x${bits.toString(16)}`);
  }
});

/** Exact value of a half (independent decode, by the definition of binary16). */
function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

test("every finite half survives f16 -> f32 -> f16, and midpoints round to even", () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = halfValue(h);
    if (Number.isNaN(v)) continue;
    assert.equal(f32ToF16Bits(v), h);
    // Midpoint to the next half up in magnitude (finite, same sign): ties to the even mantissa.
    const next = h + 1;
    if ((h & 0x7fff) >= 0x7bff) continue;
    const mid = (v + halfValue(next)) / 2;
    assert.equal(
      f32ToF16Bits(mid),
      (h & 1) === 0 ? h : next,
      `tie between 0x${h.toString(16)} and 0x${next.toString(16)}`,
    );
  }
});

test("rng: deterministic, streams independent, N(0,1) moments", () => {
  const a = Rng.stream(42, 7);
  const b = Rng.stream(42, 7);
  const c = Rng.stream(42, 8);
  const xa = Array.from({ length: 8 }, () => a.nextU32());
  assert.deepEqual(
    xa,
    Array.from({ length: 8 }, () => b.nextU32()),
  );
  assert.notDeepEqual(
    xa,
    Array.from({ length: 8 }, () => c.nextU32()),
  );
  const x = Rng.stream(1, 0).fillNormal(new Float32Array(200_000), 0, 1);
  let m = 0;
  let v = 0;
  for (const t of x) m += t;
  m /= x.length;
  for (const t of x) v += (t - m) ** 2;
  v /= x.length;
  assert.ok(Math.abs(m) < 0.01, `mean ${m}`);
  assert.ok(Math.abs(v - 1) < 0.02, `variance ${v}`);
  const within1 = x.filter((t) => Math.abs(t) < 1).length / x.length;
  assert.ok(Math.abs(within1 - 0.6827) < 0.01, `P(|x|<1) = ${within1}`);
});
