/**
 * Optional link to src/quant (written by another engineer). Loaded once at import; if the module
 * does not exist yet, quantized tensor types raise a clear error instead of breaking every import
 * of the factory. Any other load failure is a real bug and is rethrown.
 */
import { ModelError } from "../../errors.js";
import { GGMLType, ggmlTypeName } from "../../gguf/types.js";

interface QuantModule {
  /** rows of `nPerRow` f32 values -> ggml blocks of `type` (src.length / nPerRow rows). */
  quantizeRows(type: GGMLType, src: Float32Array, nPerRow: number): Uint8Array;
}

let quant: QuantModule | undefined;
try {
  quant = (await import("../../quant/index.js")) as QuantModule;
} catch (e) {
  const err = e as { code?: string; message?: string };
  if (err.code !== "ERR_MODULE_NOT_FOUND" || !/quant[\\/]index\.js/.test(err.message ?? "")) throw e;
}

export function quantAvailable(): boolean {
  return quant !== undefined;
}

export function quantizeViaQuantModule(type: GGMLType, src: Float32Array, nPerRow: number): Uint8Array {
  if (!quant) {
    throw new ModelError(`cannot write ${ggmlTypeName(type)} tensors: src/quant/index.ts is not available`, {
      field: ggmlTypeName(type),
      hint: "use F32, F16 or BF16 until the quantizers land",
    });
  }
  return quant.quantizeRows(type, src, nPerRow);
}
