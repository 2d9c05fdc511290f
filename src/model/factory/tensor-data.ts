/**
 * f32 values -> bytes of a ggml tensor type. F32/F16/BF16 are encoded here (round to nearest even,
 * as ggml's GGML_FP32_TO_FP16 / GGML_FP32_TO_BF16); block-quantized types go through src/quant.
 */
import { GGMLType, ggmlRowBytes } from "../../gguf/types.js";
import { quantizeViaQuantModule } from "./quant-bridge.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of `x` (round to nearest even; overflow -> inf; NaN stays NaN). */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | (mant ? 0x7e00 : 0x7c00); // NaN -> canonical quiet NaN (as ggml), inf
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit-1 mantissa right, rounding to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent: correct
  return sign | h;
}

/** bfloat16 bits of `x` (round to nearest even; NaN stays a quiet NaN). */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 64) & 0xffff;
  return ((b + (0x7fff + ((b >>> 16) & 1))) >>> 16) & 0xffff;
}

/** Encode `values` (rows of `rowLen`) as tensor bytes of `type`. */
export function encodeTensor(type: GGMLType, values: Float32Array, rowLen: number): Uint8Array {
  switch (type) {
    case GGMLType.F32:
      return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    case GGMLType.F16:
    case GGMLType.BF16: {
      const out = new Uint16Array(values.length);
      const conv = type === GGMLType.F16 ? f32ToF16Bits : f32ToBf16Bits;
      for (let i = 0; i < values.length; i++) out[i] = conv(values[i]!);
      return new Uint8Array(out.buffer);
    }
    default: {
      const bytes = quantizeViaQuantModule(type, values, rowLen);
      const want = (values.length / rowLen) * ggmlRowBytes(type, rowLen);
      if (bytes.length !== want)
        throw new RangeError(`quantizeRows returned ${bytes.length} bytes, expected ${want}`);
      return bytes;
    }
  }
}
