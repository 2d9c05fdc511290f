/**
 * IQ4_NL: blocks of 32 weights, 18 bytes: f16 scale d, then 16 bytes of 4-bit indices into the
 * non-linear table IQ4NL_VALUES (int8). Byte j holds element j in its low nibble and element
 * j+16 in its high nibble (as Q4_0). x = d * IQ4NL_VALUES[q]. Dot products use Q8_0 activations.
 * The scale search (iq4Search) is shared with IQ4_XS (iq4_xs.ts), which stores 8 such blocks
 * per 256-element super-block with 6-bit block scales.
 */
import { fround, signedMax, GROUP_MAX_EPS } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";
import { QK8_0, Q8_0_BYTES } from "./q8_0.js";

export const QK4_NL = 32;
export const IQ4_NL_BYTES = 18;

/** ggml kvalues_iq4nl: the 16 non-linear levels (ascending). */
export const IQ4NL_VALUES: readonly number[] = [
  -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/** ggml best_index_int8: the level nearest to x (ties to the lower one), by bisection. */
export function bestIndex(x: number): number {
  const v = IQ4NL_VALUES;
  if (x <= v[0]!) return 0;
  if (x >= v[15]!) return 15;
  let ml = 0,
    mu = 15;
  while (mu - ml > 1) {
    const mav = (ml + mu) >> 1;
    if (x < v[mav]!) mu = mav;
    else ml = mav;
  }
  return fround(x - v[mu - 1]!) < fround(v[mu]! - x) ? mu - 1 : mu;
}

/**
 * The scale search of ggml quantize_row_iq4_nl_impl (no importance weights) for the 32-element
 * blocks of one super-block of `sb` elements at src[x..]: per block the best scale over 2*ntry+1
 * candidate inverse scales, weighted by x^2. Returns the per-block scales (0 for all-zero blocks);
 * with f32 rounding of every step, as ggml's C.
 */
export function iq4Search(
  src: Float32Array,
  x: number,
  sb: number,
  ntry: number,
  scales: Float32Array,
): void {
  const v = IQ4NL_VALUES;
  for (let ib = 0; ib < sb / 32; ib++) {
    const o = x + 32 * ib;
    const max = signedMax(src, o, 32);
    if (Math.abs(max) < GROUP_MAX_EPS) {
      scales[ib] = 0;
      continue;
    }
    let d = ntry > 0 ? fround(-max / v[0]!) : fround(max / v[0]!);
    let id = fround(1 / d);
    let sumqx = 0,
      sumq2 = 0;
    for (let j = 0; j < 32; j++) {
      const xj = src[o + j]!;
      const q = v[bestIndex(fround(id * xj))]!;
      const wq = fround(fround(xj * xj) * q);
      sumqx = fround(sumqx + fround(wq * xj));
      sumq2 = fround(sumq2 + fround(wq * q));
    }
    d = fround(sumqx / sumq2);
    let best = fround(d * sumqx);
    for (let itry = -ntry; itry <= ntry; itry++) {
      id = fround((itry + v[0]!) / max);
      sumqx = sumq2 = 0;
      for (let j = 0; j < 32; j++) {
        const xj = src[o + j]!;
        const q = v[bestIndex(fround(id * xj))]!;
        const wq = fround(fround(xj * xj) * q);
        sumqx = fround(sumqx + fround(wq * xj));
        sumq2 = fround(sumq2 + fround(wq * q));
      }
      if (sumq2 > 0 && fround(sumqx * sumqx) > fround(best * sumq2)) {
        d = fround(sumqx / sumq2);
        best = fround(d * sumqx);
      }
    }
    scales[ib] = d;
  }
}

/** Packs 32 indices (element j low nibble, j+16 high) of each 32-block into 16 bytes at dst[o..]. */
export function packIq4(L: Uint8Array, nBlocks: number, dst: Uint8Array, o: number): void {
  for (let i = 0; i < nBlocks; i++)
    for (let j = 0; j < 16; j++) dst[o + 16 * i + j] = L[32 * i + j]! | (L[32 * i + 16 + j]! << 4);
}

const scale1 = new Float32Array(1);
const L32 = new Uint8Array(32);

/**
 * Byte-identical to ggml quantize_iq4_nl without importance weights (what ggml_quantize_chunk
 * and llama-quantize write): iq4Search with ntry = 7, d = the block's scale as f16, indices
 * re-chosen with 1/d. (quantize_row_iq4_nl_ref uses ntry = -1; ggml never quantizes
 * activations to IQ4_NL, so that variant is not needed here.)
 */
export function quantizeRowIQ4_NL(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK4_NL; b++) {
    const x = srcOff + b * QK4_NL;
    const o = dstOff + b * IQ4_NL_BYTES;
    iq4Search(src, x, 32, 7, scale1);
    const s = scale1[0]!;
    writeF16(dst, o, s);
    const id = s ? fround(1 / s) : 0;
    for (let j = 0; j < 32; j++) L32[j] = bestIndex(fround(id * src[x + j]!));
    packIq4(L32, 1, dst, o + 2);
  }
}

export function dequantizeRowIQ4_NL(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK4_NL; b++) {
    const o = srcOff + b * IQ4_NL_BYTES;
    const d = readF16(src, o);
    const y = dstOff + b * QK4_NL;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      dst[y + j] = d * IQ4NL_VALUES[q & 15]!;
      dst[y + j + 16] = d * IQ4NL_VALUES[q >> 4]!;
    }
  }
}

/** ggml_vec_dot_iq4_nl_q8_0 (generic): sumf += (dy*dx) * (sumi1 + sumi2) per block, in float. */
export function vecDotIQ4_NLQ8_0(
  x: Uint8Array,
  xOff: number,
  y: Uint8Array,
  yOff: number,
  n: number,
): number {
  let sumf = 0;
  for (let b = 0; b < n / QK8_0; b++) {
    const ox = xOff + b * IQ4_NL_BYTES;
    const oy = yOff + b * Q8_0_BYTES;
    const d = fround(readF16(y, oy) * readF16(x, ox));
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      const q = x[ox + 2 + j]!;
      sumi += ((y[oy + 2 + j]! << 24) >> 24) * IQ4NL_VALUES[q & 15]!;
      sumi += ((y[oy + 18 + j]! << 24) >> 24) * IQ4NL_VALUES[q >> 4]!;
    }
    sumf = fround(sumf + fround(d * sumi));
  }
  return sumf;
}
