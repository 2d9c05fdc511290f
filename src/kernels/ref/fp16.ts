/** IEEE half <-> single conversions (scalar), as ggml's GGML_FP16_TO_FP32 / GGML_FP32_TO_FP16. */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function fp16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Round-to-nearest-even f32 -> fp16 bits. */
export function f32ToFp16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const e = (x >>> 23) & 0xff;
  let m = x & 0x7fffff;
  if (e === 255) return sign | 0x7c00 | (m ? 0x200 : 0);
  const exp = e - 127 + 15;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    m |= 0x800000;
    const shift = 14 - exp;
    const half = 1 << (shift - 1);
    const rest = m & ((half << 1) - 1);
    let hm = m >>> shift;
    if (rest > half || (rest === half && hm & 1)) hm++;
    return sign | hm;
  }
  const hm = m >>> 13;
  const rest = m & 0x1fff;
  let r = (exp << 10) | hm;
  if (rest > 0x1000 || (rest === 0x1000 && hm & 1)) r++;
  return sign | r;
}

/** BF16 bits -> f32. */
export function bf16ToF32(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}
