/**
 * REFERENCE ONLY (see index.ts). Q4_0 x Q8_0 (and Q4_1 x Q8_1) dot products in the float order of ggml's x86 AVX2 CPU backend (the build llama.cpp's
 * prebuilt binaries run here), for the plain-TS reference path.
 *
 * Why two orders: llama.cpp repacks a Q4_0 weight whose row count is a multiple of 8 into
 * interleaved 8-row blocks at load (CPU "repack" buffer, q4_0_8x8) and multiplies it with a gemv/
 * gemm that keeps ONE float accumulator per output, fma'd once per 32-block with the block's whole
 * integer sum. Other Q4_0 weights (e.g. an output matrix of 333 rows) go through
 * ggml_vec_dot_q4_0_q8_0, which keeps 8 float lanes (4 products each) per block and adds them
 * horizontally at the end. The results differ by an ulp or so; alone harmless, but an ulp can move
 * a later Q8_0 activation across a rounding boundary, and random-weight models amplify that:
 * phi3 at Q4_0 (prompt >= 8 tokens) differed from llama.cpp by 7.7e-2 with the scalar order and
 * matches at ~1e-6 with these.
 *
 * Layouts: Q4_0 block = f16 d, 16 bytes (element j < 16 = low nibble of byte j, j >= 16 = high
 * nibble of byte j - 16), value = nibble - 8. Q8_0 block = f16 d, 32 int8.
 */
import { fp16ToFp32, writeF16 } from "../../../quant/f16.js";

const f = Math.fround;
const Q4_0_BYTES = 18;
const Q8_0_BYTES = 34;
const QK8_0 = 32;

const half = (b: Uint8Array, o: number) => fp16ToFp32(b[o] | (b[o + 1] << 8));
const i8 = (v: number) => (v << 24) >> 24;

/** Repacked q4_0_8x8 order: acc = fma(isum_b, f(dw * da), acc) over blocks b. */
export function dotQ4_0Q8_0Repacked(
  x: Uint8Array,
  xOff: number,
  y: Uint8Array,
  yOff: number,
  n: number,
): number {
  let acc = 0;
  const nb = n / 32;
  for (let b = 0; b < nb; b++) {
    const ox = xOff + b * Q4_0_BYTES;
    const oy = yOff + b * Q8_0_BYTES;
    let isum = 0;
    for (let j = 0; j < 16; j++) {
      const q = x[ox + 2 + j];
      isum += ((q & 0x0f) - 8) * i8(y[oy + 2 + j]) + ((q >>> 4) - 8) * i8(y[oy + 18 + j]);
    }
    // isum * d is exact in double (15 + 24 bits); one rounding to float stands for the FMA.
    acc = f(isum * f(half(x, ox) * half(y, oy)) + acc);
  }
  return acc;
}

const LANES = new Float64Array(8);

/** ggml_vec_dot_q4_0_q8_0 (AVX2): lane L holds elements 4L..4L+3 of each block; hsum_float_8. */
export function dotQ4_0Q8_0Vec(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  const acc = LANES;
  acc.fill(0);
  const nb = n / 32;
  for (let b = 0; b < nb; b++) {
    const ox = xOff + b * Q4_0_BYTES;
    const oy = yOff + b * Q8_0_BYTES;
    const d = f(half(x, ox) * half(y, oy));
    for (let l = 0; l < 8; l++) {
      let s = 0;
      for (let e = 4 * l; e < 4 * l + 4; e++) {
        const q = e < 16 ? (x[ox + 2 + e] & 0x0f) - 8 : (x[ox + 2 + e - 16] >>> 4) - 8;
        s += q * i8(y[oy + 2 + e]);
      }
      acc[l] = f(d * s + acc[l]);
    }
  }
  // hsum_float_8: (x4+x0, x5+x1, x6+x2, x7+x3), then (r0+r2) + (r1+r3).
  const r0 = f(acc[4] + acc[0]);
  const r1 = f(acc[5] + acc[1]);
  const r2 = f(acc[6] + acc[2]);
  const r3 = f(acc[7] + acc[3]);
  return f(f(r0 + r2) + f(r1 + r3));
}

const Q4_1_BYTES = 20;
const Q8_1_BYTES = 36;

/**
 * ggml_vec_dot_q4_1_q8_1 (AVX2): 8 lanes as for Q4_0 with unsigned nibbles (no -8), scale d0*d1,
 * and a separate float running sum of m * s (s = the Q8_1 block's d * sum of its quants), added
 * after the horizontal sum. Q4_1 is neither repacked nor run through tinyBLAS by ggml on x86.
 */
export function dotQ4_1Q8_1Vec(x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number): number {
  const acc = LANES;
  acc.fill(0);
  let summs = 0;
  const nb = n / 32;
  for (let b = 0; b < nb; b++) {
    const ox = xOff + b * Q4_1_BYTES;
    const oy = yOff + b * Q8_1_BYTES;
    summs = f(summs + f(half(x, ox + 2) * half(y, oy + 2)));
    const d = f(half(x, ox) * half(y, oy));
    for (let l = 0; l < 8; l++) {
      let s = 0;
      for (let e = 4 * l; e < 4 * l + 4; e++) {
        const q = e < 16 ? x[ox + 4 + e] & 0x0f : x[ox + 4 + e - 16] >>> 4;
        s += q * i8(y[oy + 4 + e]);
      }
      acc[l] = f(d * s + acc[l]);
    }
  }
  const r0 = f(acc[4] + acc[0]);
  const r1 = f(acc[5] + acc[1]);
  const r2 = f(acc[6] + acc[2]);
  const r3 = f(acc[7] + acc[3]);
  return f(f(f(r0 + r2) + f(r1 + r3)) + summs);
}

const roundHalfEven = (v: number) => {
  const r = Math.floor(v);
  const d = v - r;
  return d > 0.5 || (d === 0.5 && (r & 1) !== 0) ? r + 1 : r;
};

/**
 * quantize_row_q8_1 as ggml's AVX2 build runs it (the activation format of Q4_1/Q5_1 products):
 * d = amax / 127, but the multiplier is 127 / amax (not 1 / d), rounding is to nearest even, and
 * s = d * (sum of the quants). The portable reference (src/quant/q8_1.ts) uses 1 / d and
 * round-half-away, which differs by one quant now and then.
 */
export function quantizeRowQ8_1Avx(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / 32; b++) {
    const x = srcOff + b * 32;
    const o = dstOff + b * Q8_1_BYTES;
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[x + j]));
    const d = f(amax / 127);
    const id = amax !== 0 ? f(127 / amax) : 0;
    writeF16(dst, o, d);
    let sum = 0;
    for (let j = 0; j < 32; j++) {
      const q = roundHalfEven(f(src[x + j] * id));
      dst[o + 4 + j] = q & 0xff;
      sum += q;
    }
    writeF16(dst, o + 2, f(d * sum));
  }
}

/**
 * The activation quantizer llama.cpp runs on x86 with AVX/AVX2 (arch/x86 quantize_row_q8_0): it uses
 * id = 127/amax instead of 1/d and rounds half to even instead of away from zero, so its bytes can
 * differ from the _ref variant in the last bit of a few quants.
 */
export function quantizeRowQ8_0Avx(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK8_0; b++) {
    const x = srcOff + b * QK8_0;
    const o = dstOff + b * Q8_0_BYTES;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(src[x + j]));
    writeF16(dst, o, f(amax / 127));
    const id = amax !== 0 ? f(127 / amax) : 0;
    for (let j = 0; j < QK8_0; j++) dst[o + 2 + j] = roundHalfEven(f(src[x + j] * id)) & 0xff;
  }
}
