/**
 * Plain TypeScript KernelSet: the algorithmic reference the WASM kernels are tested against, and
 * a fallback where WebAssembly SIMD is missing. Built on src/quant (ggml's scalar formats):
 * weights stay in ggml file layout (a copy of the bytes); a product quantizes each activation row
 * once to the type's dot format (Q8_0 / Q8_1 / Q8_K / F16 ...) and runs ggml's generic block dot,
 * so results equal llama.cpp's portable CPU build.
 */
import { type GGMLType, ggmlTypeName, ggmlRowBytes } from "../../gguf/types.js";
import { KernelError } from "../../errors.js";
import { quantFormat, dequantizeInto } from "../../quant/index.js";
import type { KernelSet, PreparedWeight } from "../kernel-set.js";
import { checkWeightArgs, checkVec } from "../shape-checks.js";
import { TsOps } from "../ts-ops.js";

interface RefWeight extends PreparedWeight {
  readonly data: Uint8Array;
  readonly rowBytes: number;
}

export class RefKernelSet extends TsOps implements KernelSet {
  readonly name = "ref";
  readonly threads = 1;

  supports(type: GGMLType): boolean {
    const f = quantFormat(type);
    return f?.dot !== undefined && f.dotType !== undefined && quantFormat(f.dotType)?.quantize !== undefined;
  }

  alloc(n: number): Float32Array {
    return new Float32Array(n);
  }

  prepareWeight(type: GGMLType, data: Uint8Array, rows: number, cols: number): PreparedWeight {
    if (!this.supports(type))
      throw new KernelError(`ref kernels do not support ${ggmlTypeName(type)} weights`);
    const rowBytes = checkWeightArgs(type, data, rows, cols);
    const copy = data.slice(0, rowBytes * rows);
    const w: RefWeight = { type, rows, cols, bytes: copy.length, data: copy, rowBytes };
    return w;
  }

  matvec(w: PreparedWeight, x: Float32Array, y: Float32Array): void {
    this.matmul(w, x, 1, y);
  }

  /** Y[t][r] = dot(W[r], quantize(X[t])) with ggml's block dot. */
  matmul(pw: PreparedWeight, X: Float32Array, nTokens: number, Y: Float32Array): void {
    const w = pw as RefWeight;
    if (!Number.isInteger(nTokens) || nTokens < 1)
      throw new KernelError(`nTokens must be a positive integer, got ${nTokens}`);
    checkVec("X", X, nTokens * w.cols);
    checkVec("Y", Y, nTokens * w.rows);
    const f = quantFormat(w.type)!;
    const act = quantFormat(f.dotType!)!;
    const xq = new Uint8Array(ggmlRowBytes(f.dotType!, w.cols));
    for (let t = 0; t < nTokens; t++) {
      act.quantize!(X, t * w.cols, xq, 0, w.cols);
      for (let r = 0; r < w.rows; r++) Y[t * w.rows + r] = f.dot!(w.data, r * w.rowBytes, xq, 0, w.cols);
    }
  }

  dequantizeRow(pw: PreparedWeight, row: number, out: Float32Array): void {
    const w = pw as RefWeight;
    if (!Number.isInteger(row) || row < 0 || row >= w.rows)
      throw new KernelError(`row ${row} out of range [0, ${w.rows})`);
    checkVec("out", out, w.cols);
    dequantizeInto(w.type, w.data, row * w.rowBytes, out, 0, w.cols);
  }

  async dispose(): Promise<void> {}
}
