/**
 * bfloat16 <-> float32, matching ggml's ggml_compute_fp32_to_bf16 (round to nearest even; NaN is
 * truncated and forced quiet by setting bit 6; subnormals are kept, not flushed) and
 * ggml_compute_bf16_to_fp32 (a 16-bit shift).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 bits -> bf16 bits. */
export function fp32BitsToBf16(x: number): number {
  x >>>= 0;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 64) & 0xffff;
  // Non-NaN inputs are <= 0xFF800000, so the sum stays below 2^32.
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float (rounded to float32 first) -> bf16 bits. */
export function fp32ToBf16(f: number): number {
  f32[0] = f;
  return fp32BitsToBf16(u32[0]);
}

/** bf16 bits -> float value. */
export function bf16ToFp32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** Row conversion float32 -> BF16 bytes (ggml_fp32_to_bf16_row_ref). */
export function quantizeRowBF16(
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset + srcOff * 4, n);
  for (let i = 0; i < n; i++) {
    const h = fp32BitsToBf16(bits[i]);
    dst[dstOff + 2 * i] = h & 0xff;
    dst[dstOff + 2 * i + 1] = h >>> 8;
  }
}

/** Row conversion BF16 bytes -> float32, bit-exact. */
export function dequantizeRowBF16(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  const out = new Uint32Array(dst.buffer, dst.byteOffset + dstOff * 4, n);
  for (let i = 0; i < n; i++) out[i] = ((src[srcOff + 2 * i] | (src[srcOff + 2 * i + 1] << 8)) << 16) >>> 0;
}
