/**
 * IEEE binary16 <-> binary32 conversion, matching ggml's GGML_FP32_TO_FP16 / GGML_FP16_TO_FP32:
 * round to nearest even, gradual underflow to subnormals, overflow to infinity, and every NaN becomes
 * the quiet NaN 0x7E00 with the input's sign (ggml drops NaN payloads when narrowing, and quiets
 * signalling NaNs when widening).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 bits -> half bits. */
export function fp32BitsToFp16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00; // NaN
  // 65520 = 0x477FF000 is halfway between 65504 (max half, odd mantissa) and 65536: ties go to inf.
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs >= 0x38800000) {
    // Normal half: rebias the exponent (127 -> 15) and round the 23-bit mantissa to 10 bits, ties to
    // even. A carry out of the mantissa correctly bumps the exponent.
    const m = abs - (112 << 23);
    return sign | ((m + 0xfff + ((m >>> 13) & 1)) >>> 13);
  }
  // Subnormal half (|f| < 2^-14): the encoding is round_even(|f| * 2^24), exact in float64. A result
  // of 1024 is the smallest normal, which is also its correct encoding.
  f32[0] = 0;
  u32[0] = abs;
  const v = f32[0] * 16777216;
  let r = Math.floor(v);
  const frac = v - r;
  if (frac > 0.5 || (frac === 0.5 && (r & 1) === 1)) r++;
  return sign | r;
}

/**
 * half bits -> float32 bits. Exact for numbers; a NaN keeps its payload but comes out quiet, as ggml's
 * conversion (which goes through a float multiply) makes it.
 */
export function fp16ToFp32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return (sign | 0x7f800000 | (m << 13) | (m !== 0 ? 0x400000 : 0)) >>> 0;
  if (e !== 0) return (sign | ((e + 112) << 23) | (m << 13)) >>> 0;
  if (m === 0) return sign >>> 0;
  f32[0] = m / 16777216; // m * 2^-24, exactly representable
  return (sign | u32[0]) >>> 0;
}

/** float (rounded to float32 first, as a C float argument would be) -> half bits. */
export function fp32ToFp16(f: number): number {
  f32[0] = f;
  return fp32BitsToFp16(u32[0]);
}

/** 65536-entry decode table: half bits -> float32, built on first use (256 KiB). */
let table: Float32Array | undefined;
export function fp16Table(): Float32Array {
  if (!table) {
    const t = new Float32Array(65536);
    const bits = new Uint32Array(t.buffer);
    for (let h = 0; h < 65536; h++) bits[h] = fp16ToFp32Bits(h);
    table = t;
  }
  return table;
}

/** half bits -> float value. */
export function fp16ToFp32(h: number): number {
  return fp16Table()[h & 0xffff];
}

/** Read the little-endian half at bytes[off] as a float. */
export function readF16(bytes: Uint8Array, off: number): number {
  return fp16Table()[bytes[off] | (bytes[off + 1] << 8)];
}

/** Write float `f` as a little-endian half at bytes[off]. */
export function writeF16(bytes: Uint8Array, off: number, f: number): void {
  const h = fp32ToFp16(f);
  bytes[off] = h & 0xff;
  bytes[off + 1] = h >>> 8;
}

/** Row conversion float32 -> F16 bytes (ggml_fp32_to_fp16_row). Reads bits, so NaN signs survive. */
export function quantizeRowF16(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset + srcOff * 4, n);
  for (let i = 0; i < n; i++) {
    const h = fp32BitsToFp16(bits[i]);
    dst[dstOff + 2 * i] = h & 0xff;
    dst[dstOff + 2 * i + 1] = h >>> 8;
  }
}

/** Row conversion F16 bytes -> float32, bit-identical to ggml (see fp16ToFp32Bits). */
export function dequantizeRowF16(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  fp16Table();
  const tbits = new Uint32Array(table!.buffer);
  const out = new Uint32Array(dst.buffer, dst.byteOffset + dstOff * 4, n);
  for (let i = 0; i < n; i++) out[i] = tbits[src[srcOff + 2 * i] | (src[srcOff + 2 * i + 1] << 8)];
}
