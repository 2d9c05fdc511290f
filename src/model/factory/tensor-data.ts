/**
 * f32 values -> bytes of a ggml tensor type: F32 as is, every other type through src/quant
 * (F16/BF16 rounding and block quantization exactly as ggml's reference).
 */
import { GGMLType, ggmlRowBytes } from "../../gguf/types.js";
import { quantizeRows } from "../../quant/index.js";

/** Encode `values` (rows of `rowLen`) as tensor bytes of `type`. */
export function encodeTensor(type: GGMLType, values: Float32Array, rowLen: number): Uint8Array {
  switch (type) {
    case GGMLType.F32:
      return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    default: {
      const bytes = quantizeRows(type, values, rowLen);
      const want = (values.length / rowLen) * ggmlRowBytes(type, rowLen);
      if (bytes.length !== want)
        throw new RangeError(`quantizeRows returned ${bytes.length} bytes, expected ${want}`);
      return bytes;
    }
  }
}
