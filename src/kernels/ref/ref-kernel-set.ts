/**
 * Plain TypeScript KernelSet: the algorithmic reference the WASM kernels are tested against, and
 * a fallback where WebAssembly SIMD is missing. Weights stay in ggml file layout (a copy of the
 * bytes); quantized products quantize the activation like ggml and use ggml's block dot order.
 */
import { GGMLType, ggmlTypeTraits, ggmlTypeName } from "../../gguf/types.js";
import { KernelError } from "../../errors.js";
import type { KernelSet, PreparedWeight } from "../kernel-set.js";
import {
  type Q8Act,
  quantizeActQ8_0,
  quantizeActQ8_K,
  dotQ8_0,
  dotQ4_0,
  dotQ4_K,
  dotQ6_K,
  dequantQ8_0,
  dequantQ4_0,
  dequantQ4_K,
  dequantQ6_K,
} from "./ggml-blocks.js";
import { checkWeightArgs, checkVec } from "../shape-checks.js";

interface RefWeight extends PreparedWeight {
  readonly data: Uint8Array;
  readonly rowBytes: number;
}

type Dot = (b: Uint8Array, o: number, nb: number, a: Q8Act) => number;
type Dequant = (b: Uint8Array, o: number, nb: number, out: Float32Array, oo: number) => void;

/** Per quantized type: activation format (block size) and the scalar dot/dequant. */
const QUANT: ReadonlyMap<GGMLType, { act: 32 | 256; dot: Dot; dequant: Dequant }> = new Map([
  [GGMLType.Q8_0, { act: 32, dot: dotQ8_0, dequant: dequantQ8_0 }],
  [GGMLType.Q4_0, { act: 32, dot: dotQ4_0, dequant: dequantQ4_0 }],
  [GGMLType.Q4_K, { act: 256, dot: dotQ4_K, dequant: dequantQ4_K }],
  [GGMLType.Q6_K, { act: 256, dot: dotQ6_K, dequant: dequantQ6_K }],
] as const);

export class RefKernelSet implements KernelSet {
  readonly name = "ref";
  readonly threads = 1;

  supports(type: GGMLType): boolean {
    return type === GGMLType.F32 || QUANT.has(type);
  }

  alloc(n: number): Float32Array {
    return new Float32Array(n);
  }

  prepareWeight(type: GGMLType, data: Uint8Array, rows: number, cols: number): PreparedWeight {
    if (!this.supports(type)) throw new KernelError(`ref kernels do not support ${ggmlTypeName(type)} weights`);
    const rowBytes = checkWeightArgs(type, data, rows, cols);
    const copy = data.slice(0, rowBytes * rows);
    const w: RefWeight = { type, rows, cols, bytes: copy.length, data: copy, rowBytes };
    return w;
  }

  matvec(w: PreparedWeight, x: Float32Array, y: Float32Array): void {
    this.matmul(w, x, 1, y);
  }

  matmul(pw: PreparedWeight, X: Float32Array, nTokens: number, Y: Float32Array): void {
    const w = pw as RefWeight;
    checkVec("X", X, nTokens * w.cols);
    checkVec("Y", Y, nTokens * w.rows);
    for (let t = 0; t < nTokens; t++) {
      if (w.type === GGMLType.F32) {
        const f = new Float32Array(w.data.buffer, w.data.byteOffset, w.rows * w.cols);
        for (let r = 0; r < w.rows; r++) {
          let s = 0;
          for (let c = 0; c < w.cols; c++) s += f[r * w.cols + c]! * X[t * w.cols + c]!;
          Y[t * w.rows + r] = s;
        }
        continue;
      }
      const q = QUANT.get(w.type)!;
      const act = q.act === 32 ? quantizeActQ8_0(X, t * w.cols, w.cols) : quantizeActQ8_K(X, t * w.cols, w.cols);
      const nb = w.cols / ggmlTypeTraits(w.type).blockSize;
      for (let r = 0; r < w.rows; r++) Y[t * w.rows + r] = q.dot(w.data, r * w.rowBytes, nb, act);
    }
  }

  dequantizeRow(pw: PreparedWeight, row: number, out: Float32Array): void {
    const w = pw as RefWeight;
    if (!Number.isInteger(row) || row < 0 || row >= w.rows) throw new KernelError(`row ${row} out of range [0, ${w.rows})`);
    checkVec("out", out, w.cols);
    if (w.type === GGMLType.F32) {
      out.set(new Float32Array(w.data.buffer, w.data.byteOffset + row * w.rowBytes, w.cols));
      return;
    }
    const q = QUANT.get(w.type)!;
    q.dequant(w.data, row * w.rowBytes, w.cols / ggmlTypeTraits(w.type).blockSize, out, 0);
  }

  async dispose(): Promise<void> {}
}
