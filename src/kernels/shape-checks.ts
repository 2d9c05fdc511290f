/** Argument validation shared by KernelSet implementations: bad shapes get a KernelError. */
import { type GGMLType, ggmlRowBytes, ggmlTypeName, ggmlTypeTraits } from "../gguf/types.js";
import { KernelError } from "../errors.js";

/** Validates a weight's shape against its bytes; returns the bytes per row. */
export function checkWeightArgs(type: GGMLType, data: Uint8Array, rows: number, cols: number): number {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0) {
    throw new KernelError(`weight shape must be positive integers, got [${rows}, ${cols}]`);
  }
  const bs = ggmlTypeTraits(type).blockSize;
  if (cols % bs !== 0) {
    throw new KernelError(
      `${ggmlTypeName(type)} row length ${cols} is not a multiple of its block size ${bs}`,
    );
  }
  const rowBytes = ggmlRowBytes(type, cols);
  if (data.length < rowBytes * rows) {
    throw new KernelError(
      `${ggmlTypeName(type)} weight [${rows}, ${cols}] needs ${rowBytes * rows} bytes, got ${data.length}`,
    );
  }
  return rowBytes;
}

/** Checks a vector argument has at least n elements. */
export function checkVec(name: string, v: Float32Array, n: number): void {
  if (!(v instanceof Float32Array)) throw new KernelError(`${name} must be a Float32Array`);
  if (v.length < n) throw new KernelError(`${name} has ${v.length} elements, needs ${n}`);
}
