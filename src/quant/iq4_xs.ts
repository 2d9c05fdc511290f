/**
 * IQ4_XS: super-blocks of 256 weights, 136 bytes: f16 d (0), u16 scales_h (2), u8 scales_l[4]
 * (4), then 8 blocks of 32 as 16 bytes of IQ4_NL indices each (8; element j low nibble, j+16
 * high). Block ib's 6-bit scale ls = (scales_l[ib/2] >> 4*(ib%2)) & 15 | ((scales_h >> 2*ib) &
 * 3) << 4; x = d * (ls - 32) * IQ4NL_VALUES[q]. Dot products use Q8_K activations.
 */
import { fround, nearestInt } from "./cfloat.js";
import { readF16, writeF16 } from "./f16.js";
import { IQ4NL_VALUES, bestIndex, iq4Search, packIq4 } from "./iq4_nl.js";
import { QK_K, Q8_K_BYTES, Q8_K_QS, q8kScale } from "./q8_k.js";

export const IQ4_XS_BYTES = 136;

/** Block ib's scale ls (0..63, used as ls - 32) of the super-block at o. */
export function iq4xsScale(b: Uint8Array, o: number, ib: number): number {
  const h = b[o + 2]! | (b[o + 3]! << 8);
  return ((b[o + 4 + (ib >> 1)]! >> (4 * (ib & 1))) & 15) | (((h >> (2 * ib)) & 3) << 4);
}

const scales = new Float32Array(8);
const L = new Uint8Array(256);

/**
 * Byte-identical to ggml quantize_iq4_xs without importance weights: iq4Search (ntry 7) per
 * 32-block, d = -max_scale/32 (max_scale: the block scale of largest magnitude, signed), block
 * scale l = clamp(nearest(scale/d), -32, 31) + 32, indices re-chosen with 1/(d*l).
 */
export function quantizeRowIQ4_XS(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_K; b++) {
    const x = srcOff + b * QK_K;
    const o = dstOff + b * IQ4_XS_BYTES;
    iq4Search(src, x, QK_K, 7, scales);
    let maxScale = 0,
      amaxScale = 0;
    for (let ib = 0; ib < 8; ib++) {
      const a = Math.abs(scales[ib]!);
      if (a > amaxScale) ((amaxScale = a), (maxScale = scales[ib]!));
    }
    const d = fround(-maxScale / 32);
    writeF16(dst, o, d);
    const id = d ? fround(1 / d) : 0;
    let sh = 0;
    for (let ib = 0; ib < 8; ib++) {
      let l = nearestInt(fround(id * scales[ib]!));
      l = Math.max(-32, Math.min(31, l));
      const dl = fround(d * l);
      const idl = dl ? fround(1 / dl) : 0;
      for (let j = 0; j < 32; j++) L[32 * ib + j] = bestIndex(fround(idl * src[x + 32 * ib + j]!));
      l += 32;
      if (ib % 2 === 0) dst[o + 4 + (ib >> 1)] = l & 15;
      else dst[o + 4 + (ib >> 1)]! |= (l & 15) << 4;
      sh |= (l >> 4) << (2 * ib);
    }
    dst[o + 2] = sh & 255;
    dst[o + 3] = sh >> 8;
    packIq4(L, 8, dst, o + 8);
  }
}

export function dequantizeRowIQ4_XS(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOff + b * IQ4_XS_BYTES;
    const d = readF16(src, o);
    for (let ib = 0; ib < 8; ib++) {
      const dl = fround(d * (iq4xsScale(src, o, ib) - 32));
      const y = dstOff + b * QK_K + 32 * ib;
      for (let j = 0; j < 16; j++) {
        const q = src[o + 8 + 16 * ib + j]!;
        dst[y + j] = dl * IQ4NL_VALUES[q & 15]!;
        dst[y + j + 16] = dl * IQ4NL_VALUES[q >> 4]!;
      }
    }
  }
}

/** ggml_vec_dot_iq4_xs_q8_K (generic, as the shipped build computes it): per 32-block
 *  sumf += dl * sumi in float, dl = (dx*dy) * (ls - 32). */
export function vecDotIQ4_XSQ8_K(
  x: Uint8Array,
  xOff: number,
  y: Uint8Array,
  yOff: number,
  n: number,
): number {
  let sumf = 0;
  for (let b = 0; b < n / QK_K; b++) {
    const ox = xOff + b * IQ4_XS_BYTES;
    const oy = yOff + b * Q8_K_BYTES;
    const d4d8 = fround(readF16(x, ox) * q8kScale(y, oy));
    for (let ib = 0; ib < 8; ib += 2) {
      const d1 = fround(d4d8 * (iq4xsScale(x, ox, ib) - 32));
      const d2 = fround(d4d8 * (iq4xsScale(x, ox, ib + 1) - 32));
      let s1 = 0,
        s2 = 0;
      for (let j = 0; j < 16; j++) {
        const q1 = x[ox + 8 + 16 * ib + j]!;
        const q2 = x[ox + 8 + 16 * (ib + 1) + j]!;
        const a = oy + Q8_K_QS + 32 * ib;
        s1 +=
          ((y[a + j]! << 24) >> 24) * IQ4NL_VALUES[q1 & 15]! +
          ((y[a + 16 + j]! << 24) >> 24) * IQ4NL_VALUES[q1 >> 4]!;
        s2 +=
          ((y[a + 32 + j]! << 24) >> 24) * IQ4NL_VALUES[q2 & 15]! +
          ((y[a + 48 + j]! << 24) >> 24) * IQ4NL_VALUES[q2 >> 4]!;
      }
      sumf = fround(sumf + fround(d1 * s1));
      sumf = fround(sumf + fround(d2 * s2));
    }
  }
  return sumf;
}
