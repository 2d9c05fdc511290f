/**
 * Scalar decoders of the ggml block formats the kernels support, and the activation quantizers
 * (Q8_0, Q8_K) exactly as ggml's *_ref functions compute them (f32 arithmetic via Math.fround).
 * Block layouts (ggml-common.h):
 *   Q8_0 (34 B / 32): d fp16, qs int8[32]                     value = d*q
 *   Q4_0 (18 B / 32): d fp16, qs[16]: lo nibble = elem i, hi = elem i+16;  value = d*(q-8)
 *   Q4_K (144 B / 256): d, dmin fp16, scales[12] (8 6-bit scales + 8 6-bit mins), qs[128]
 *        (per 64 elems: 32 bytes, lo nibbles = first 32, hi = next 32)  value = d*sc*q - dmin*m
 *   Q6_K (210 B / 256): ql[128], qh[64], scales int8[16], d fp16  value = d*sc[i/16]*(q-32)
 * Used by the ref KernelSet, the WASM repacker and the tests. (To be backed by src/quant once
 * that module lands.)
 */
import { fp16ToF32, f32ToFp16 } from "./fp16.js";

const fr = Math.fround;

function rd16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

/** C roundf: ties away from zero. */
function roundAway(v: number): number {
  const t = Math.trunc(v);
  return Math.abs(v - t) >= 0.5 ? t + Math.sign(v) : t;
}

/** ggml nearest_int: ties to even. */
function roundEven(v: number): number {
  const t = Math.trunc(v);
  const f = Math.abs(v - t);
  if (f < 0.5) return t;
  if (f > 0.5) return t + Math.sign(v);
  return t % 2 === 0 ? t : t + Math.sign(v);
}

/** A quantized activation row: q int8 values, d per block (32 for Q8_0, 256 for Q8_K), sums. */
export interface Q8Act {
  q: Int8Array;
  d: Float32Array;
  /** Q8_0: sum of q per 32; Q8_K: per 16 (ggml bsums). */
  sums: Int32Array;
}

export function quantizeActQ8_0(x: ArrayLike<number>, off: number, n: number): Q8Act {
  const nb = n / 32;
  const q = new Int8Array(n);
  const d = new Float32Array(nb);
  const sums = new Int32Array(nb);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[off + b * 32 + i]!));
    const dd = fr(amax / 127);
    const id = dd !== 0 ? fr(1 / dd) : 0;
    let s = 0;
    for (let i = 0; i < 32; i++) {
      const v = roundAway(fr(x[off + b * 32 + i]! * id));
      q[b * 32 + i] = v;
      s += v;
    }
    d[b] = fp16ToF32(f32ToFp16(dd));
    sums[b] = s;
  }
  return { q, d, sums };
}

export function quantizeActQ8_K(x: ArrayLike<number>, off: number, n: number): Q8Act {
  const nb = n / 256;
  const q = new Int8Array(n);
  const d = new Float32Array(nb);
  const sums = new Int32Array(nb * 16);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    let vmax = 0;
    for (let i = 0; i < 256; i++) {
      const v = x[off + b * 256 + i]!;
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        vmax = v;
      }
    }
    if (amax === 0) continue;
    const iscale = fr(-127 / vmax);
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let i = 0; i < 16; i++) {
        const k = b * 256 + j * 16 + i;
        const v = Math.min(127, roundEven(fr(iscale * x[off + k]!)));
        q[k] = v;
        s += v;
      }
      sums[b * 16 + j] = s;
    }
    d[b] = fr(1 / iscale);
  }
  return { q, d, sums };
}

/** ggml get_scale_min_k4: the j-th 6-bit scale and min of a Q4_K/Q5_K block. */
export function scaleMinK4(b: Uint8Array, o: number, j: number): [number, number] {
  if (j < 4) return [b[o + j]! & 63, b[o + j + 4]! & 63];
  return [(b[o + j + 4]! & 0xf) | ((b[o + j - 4]! >> 6) << 4), (b[o + j + 4]! >> 4) | ((b[o + j]! >> 6) << 4)];
}

/** Unsigned 4-bit quants (0..15) of the Q4_K block at o, in element order. */
export function q4kQuants(b: Uint8Array, o: number, out: Uint8Array): void {
  for (let k = 0; k < 4; k++)
    for (let l = 0; l < 32; l++) {
      const v = b[o + 16 + 32 * k + l]!;
      out[64 * k + l] = v & 0xf;
      out[64 * k + 32 + l] = v >> 4;
    }
}

/** Unsigned 6-bit quants (0..63, value q-32) of the Q6_K block at o, in element order. */
export function q6kQuants(b: Uint8Array, o: number, out: Uint8Array): void {
  for (let n = 0; n < 2; n++) {
    const ql = o + 64 * n;
    const qh = o + 128 + 32 * n;
    for (let l = 0; l < 32; l++) {
      const h = b[qh + l]!;
      out[128 * n + l] = (b[ql + l]! & 0xf) | ((h & 3) << 4);
      out[128 * n + l + 32] = (b[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4);
      out[128 * n + l + 64] = (b[ql + l]! >> 4) | (((h >> 4) & 3) << 4);
      out[128 * n + l + 96] = (b[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4);
    }
  }
}

/** Dot of one weight row (byte offset o, nb blocks) with a Q8_0 activation, ggml order. */
export function dotQ8_0(b: Uint8Array, o: number, nb: number, a: Q8Act): number {
  let sum = 0;
  for (let i = 0; i < nb; i++) {
    const p = o + i * 34;
    let s = 0;
    for (let j = 0; j < 32; j++) s += ((b[p + 2 + j]! << 24) >> 24) * a.q[i * 32 + j]!;
    sum += s * fr(fp16ToF32(rd16(b, p)) * a.d[i]!);
  }
  return sum;
}

export function dotQ4_0(b: Uint8Array, o: number, nb: number, a: Q8Act): number {
  let sum = 0;
  for (let i = 0; i < nb; i++) {
    const p = o + i * 18;
    let s = 0;
    for (let j = 0; j < 16; j++) {
      const v = b[p + 2 + j]!;
      s += ((v & 0xf) - 8) * a.q[i * 32 + j]! + ((v >> 4) - 8) * a.q[i * 32 + j + 16]!;
    }
    sum += s * fr(fp16ToF32(rd16(b, p)) * a.d[i]!);
  }
  return sum;
}

export function dotQ4_K(b: Uint8Array, o: number, nb: number, a: Q8Act): number {
  const q = new Uint8Array(256);
  let sum = 0;
  for (let i = 0; i < nb; i++) {
    const p = o + i * 144;
    q4kQuants(b, p, q);
    let sumi = 0;
    let summ = 0;
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMinK4(b, p + 4, j);
      let s = 0;
      for (let l = 0; l < 32; l++) s += q[32 * j + l]! * a.q[i * 256 + 32 * j + l]!;
      sumi += sc * s;
      summ += m * (a.sums[i * 16 + 2 * j]! + a.sums[i * 16 + 2 * j + 1]!);
    }
    sum += fp16ToF32(rd16(b, p)) * a.d[i]! * sumi - fp16ToF32(rd16(b, p + 2)) * a.d[i]! * summ;
  }
  return sum;
}

export function dotQ6_K(b: Uint8Array, o: number, nb: number, a: Q8Act): number {
  const q = new Uint8Array(256);
  let sum = 0;
  for (let i = 0; i < nb; i++) {
    const p = o + i * 210;
    q6kQuants(b, p, q);
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let l = 0; l < 16; l++) s += (q[16 * j + l]! - 32) * a.q[i * 256 + 16 * j + l]!;
      sumi += ((b[p + 192 + j]! << 24) >> 24) * s;
    }
    sum += fp16ToF32(rd16(b, p + 208)) * a.d[i]! * sumi;
  }
  return sum;
}

/** Dequantize one row of nb blocks at byte offset o into out[oo..]. */
export function dequantQ8_0(b: Uint8Array, o: number, nb: number, out: Float32Array, oo: number): void {
  for (let i = 0; i < nb; i++) {
    const d = fp16ToF32(rd16(b, o + i * 34));
    for (let j = 0; j < 32; j++) out[oo + i * 32 + j] = d * ((b[o + i * 34 + 2 + j]! << 24) >> 24);
  }
}

export function dequantQ4_0(b: Uint8Array, o: number, nb: number, out: Float32Array, oo: number): void {
  for (let i = 0; i < nb; i++) {
    const p = o + i * 18;
    const d = fp16ToF32(rd16(b, p));
    for (let j = 0; j < 16; j++) {
      out[oo + i * 32 + j] = d * ((b[p + 2 + j]! & 0xf) - 8);
      out[oo + i * 32 + j + 16] = d * ((b[p + 2 + j]! >> 4) - 8);
    }
  }
}

export function dequantQ4_K(b: Uint8Array, o: number, nb: number, out: Float32Array, oo: number): void {
  const q = new Uint8Array(256);
  for (let i = 0; i < nb; i++) {
    const p = o + i * 144;
    const d = fp16ToF32(rd16(b, p));
    const dmin = fp16ToF32(rd16(b, p + 2));
    q4kQuants(b, p, q);
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMinK4(b, p + 4, j);
      const d1 = fr(d * sc);
      const m1 = fr(dmin * m);
      for (let l = 0; l < 32; l++) out[oo + i * 256 + 32 * j + l] = fr(d1 * q[32 * j + l]!) - m1;
    }
  }
}

export function dequantQ6_K(b: Uint8Array, o: number, nb: number, out: Float32Array, oo: number): void {
  const q = new Uint8Array(256);
  for (let i = 0; i < nb; i++) {
    const p = o + i * 210;
    const d = fp16ToF32(rd16(b, p + 208));
    q6kQuants(b, p, q);
    for (let k = 0; k < 256; k++) out[oo + i * 256 + k] = fr(d * ((b[p + 192 + (k >> 4)]! << 24) >> 24)) * (q[k]! - 32);
  }
}
