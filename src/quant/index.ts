/**
 * Scalar reference quantize / dequantize / dot for ggml block formats. These are the ground truth the
 * WASM kernels are tested against; quantizers reproduce ggml's *_ref functions byte for byte, and
 * vecDot reproduces ggml-cpu's generic vec_dot (activation quantized to the paired format, integer
 * dot per block, float32 accumulation in ggml's order).
 */
import { InputError } from "../errors.js";
import { GGMLType, ggmlTypeName, ggmlTypeTraits, isKnownGGMLType } from "../gguf/types.js";
import { fround } from "./cfloat.js";
import { dequantizeRowF16, quantizeRowF16 } from "./f16.js";
import { dequantizeRowBF16, quantizeRowBF16 } from "./bf16.js";
import { dequantizeRowQ4_0, quantizeRowQ4_0, vecDotQ4_0Q8_0 } from "./q4_0.js";
import { dequantizeRowQ4_1, quantizeRowQ4_1, vecDotQ4_1Q8_1 } from "./q4_1.js";
import { dequantizeRowQ5_0, quantizeRowQ5_0, vecDotQ5_0Q8_0 } from "./q5_0.js";
import { dequantizeRowQ5_1, quantizeRowQ5_1, vecDotQ5_1Q8_1 } from "./q5_1.js";
import { dequantizeRowQ8_0, quantizeRowQ8_0, vecDotQ8_0Q8_0 } from "./q8_0.js";
import { dequantizeRowQ8_1, quantizeRowQ8_1 } from "./q8_1.js";
import { dequantizeRowQ2_K, quantizeRowQ2_K, vecDotQ2_KQ8_K } from "./q2_k.js";
import { dequantizeRowQ3_K, quantizeRowQ3_K, vecDotQ3_KQ8_K } from "./q3_k.js";
import { dequantizeRowQ4_K, quantizeRowQ4_K, vecDotQ4_KQ8_K } from "./q4_k.js";
import { dequantizeRowQ5_K, quantizeRowQ5_K, vecDotQ5_KQ8_K } from "./q5_k.js";
import { dequantizeRowQ6_K, quantizeRowQ6_K, vecDotQ6_KQ8_K } from "./q6_k.js";
import { dequantizeRowQ8_K, quantizeRowQ8_K } from "./q8_k.js";
import { dequantizeRowIQ4_NL, quantizeRowIQ4_NL, vecDotIQ4_NLQ8_0 } from "./iq4_nl.js";
import { dequantizeRowMXFP4, quantizeRowMXFP4, vecDotMXFP4Q8_0 } from "./mxfp4.js";
import { dequantizeRowIQ4_XS, quantizeRowIQ4_XS, vecDotIQ4_XSQ8_K } from "./iq4_xs.js";

export * from "./f16.js";
export * from "./bf16.js";

/** Quantize n floats (a whole number of blocks) from src[srcOff] into dst[dstOff]. */
export type RowQuantizer = (
  src: Float32Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  n: number,
) => void;
/** Dequantize n elements (a whole number of blocks) from bytes[srcOff] into dst[dstOff]. */
export type RowDequantizer = (
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
) => void;
/** Dot of n elements: x blocks at x[xOff] with activation blocks (format `dotType`) at y[yOff]. */
export type BlockDot = (x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number) => number;

export interface QuantFormat {
  readonly quantize?: RowQuantizer;
  readonly dequantize: RowDequantizer;
  /** The format ggml converts activations to for this type's dot product (ggml-cpu vec_dot_type). */
  readonly dotType?: GGMLType;
  readonly dot?: BlockDot;
}

function quantizeRowF32(src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  new Float32Array(dst.buffer, dst.byteOffset + dstOff, n).set(src.subarray(srcOff, srcOff + n));
}
function dequantizeRowF32(
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  // Copy the bytes (not the values) so NaN payloads survive, whatever the alignment of src.
  new Uint8Array(dst.buffer, dst.byteOffset + dstOff * 4, n * 4).set(src.subarray(srcOff, srcOff + n * 4));
}

/** ggml_vec_dot_f32/f16/bf16 scalar path: float32 products accumulated in float64, result as float. */
function plainDot(dequant: RowDequantizer): BlockDot {
  return (x, xOff, y, yOff, n) => {
    const a = scratchF32(0, n);
    const b = scratchF32(1, n);
    dequant(x, xOff, a, 0, n);
    dequant(y, yOff, b, 0, n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += fround(a[i] * b[i]);
    return fround(sum);
  };
}

const FORMATS = new Map<GGMLType, QuantFormat>([
  [GGMLType.F32, { quantize: quantizeRowF32, dequantize: dequantizeRowF32, dotType: GGMLType.F32 }],
  [GGMLType.F16, { quantize: quantizeRowF16, dequantize: dequantizeRowF16, dotType: GGMLType.F16 }],
  [GGMLType.BF16, { quantize: quantizeRowBF16, dequantize: dequantizeRowBF16, dotType: GGMLType.BF16 }],
  [
    GGMLType.Q4_0,
    { quantize: quantizeRowQ4_0, dequantize: dequantizeRowQ4_0, dotType: GGMLType.Q8_0, dot: vecDotQ4_0Q8_0 },
  ],
  [
    GGMLType.Q4_1,
    { quantize: quantizeRowQ4_1, dequantize: dequantizeRowQ4_1, dotType: GGMLType.Q8_1, dot: vecDotQ4_1Q8_1 },
  ],
  [
    GGMLType.Q5_0,
    { quantize: quantizeRowQ5_0, dequantize: dequantizeRowQ5_0, dotType: GGMLType.Q8_0, dot: vecDotQ5_0Q8_0 },
  ],
  [
    GGMLType.Q5_1,
    { quantize: quantizeRowQ5_1, dequantize: dequantizeRowQ5_1, dotType: GGMLType.Q8_1, dot: vecDotQ5_1Q8_1 },
  ],
  [
    GGMLType.Q8_0,
    { quantize: quantizeRowQ8_0, dequantize: dequantizeRowQ8_0, dotType: GGMLType.Q8_0, dot: vecDotQ8_0Q8_0 },
  ],
  [GGMLType.Q8_1, { quantize: quantizeRowQ8_1, dequantize: dequantizeRowQ8_1 }],
  [
    GGMLType.Q2_K,
    { quantize: quantizeRowQ2_K, dequantize: dequantizeRowQ2_K, dotType: GGMLType.Q8_K, dot: vecDotQ2_KQ8_K },
  ],
  [
    GGMLType.Q3_K,
    { quantize: quantizeRowQ3_K, dequantize: dequantizeRowQ3_K, dotType: GGMLType.Q8_K, dot: vecDotQ3_KQ8_K },
  ],
  [
    GGMLType.Q4_K,
    { quantize: quantizeRowQ4_K, dequantize: dequantizeRowQ4_K, dotType: GGMLType.Q8_K, dot: vecDotQ4_KQ8_K },
  ],
  [
    GGMLType.Q5_K,
    { quantize: quantizeRowQ5_K, dequantize: dequantizeRowQ5_K, dotType: GGMLType.Q8_K, dot: vecDotQ5_KQ8_K },
  ],
  [
    GGMLType.Q6_K,
    { quantize: quantizeRowQ6_K, dequantize: dequantizeRowQ6_K, dotType: GGMLType.Q8_K, dot: vecDotQ6_KQ8_K },
  ],
  [GGMLType.Q8_K, { quantize: quantizeRowQ8_K, dequantize: dequantizeRowQ8_K }],
  [
    GGMLType.IQ4_NL,
    {
      quantize: quantizeRowIQ4_NL,
      dequantize: dequantizeRowIQ4_NL,
      dotType: GGMLType.Q8_0,
      dot: vecDotIQ4_NLQ8_0,
    },
  ],
  [
    GGMLType.MXFP4,
    {
      quantize: quantizeRowMXFP4,
      dequantize: dequantizeRowMXFP4,
      dotType: GGMLType.Q8_0,
      dot: vecDotMXFP4Q8_0,
    },
  ],
  [
    GGMLType.IQ4_XS,
    {
      quantize: quantizeRowIQ4_XS,
      dequantize: dequantizeRowIQ4_XS,
      dotType: GGMLType.Q8_K,
      dot: vecDotIQ4_XSQ8_K,
    },
  ],
]);
// F32/F16/BF16 dots need the dequantizers, so they are attached after the table exists.
for (const t of [GGMLType.F32, GGMLType.F16, GGMLType.BF16]) {
  const f = FORMATS.get(t)!;
  FORMATS.set(t, { ...f, dot: plainDot(f.dequantize) });
}

/** The reference implementation of one format, or undefined when src/quant has none. */
export function quantFormat(type: GGMLType): QuantFormat | undefined {
  return FORMATS.get(type);
}

export function canQuantize(type: GGMLType): boolean {
  return FORMATS.get(type)?.quantize !== undefined;
}

export function canDequantize(type: GGMLType): boolean {
  return FORMATS.has(type);
}

function formatOrThrow(type: GGMLType, what: "quantize" | "dequantize" | "dot"): QuantFormat {
  const f = isKnownGGMLType(type) ? FORMATS.get(type) : undefined;
  if (!f || (what === "quantize" && !f.quantize) || (what === "dot" && !f.dot)) {
    throw new InputError(`no reference ${what} for ggml type ${ggmlTypeName(type)}`, {
      field: "type",
      hint: `supported: ${[...FORMATS.keys()]
        .filter(
          (t) =>
            what === "dequantize" || (what === "quantize" ? FORMATS.get(t)!.quantize : FORMATS.get(t)!.dot),
        )
        .map(ggmlTypeName)
        .join(", ")}`,
    });
  }
  return f;
}

function checkCount(type: GGMLType, n: number, field: string): { blockSize: number; typeSize: number } {
  const tr = ggmlTypeTraits(type);
  if (!Number.isSafeInteger(n) || n < 0 || n % tr.blockSize !== 0) {
    throw new InputError(
      `${field} = ${n} is not a non-negative multiple of the ${tr.name} block size ${tr.blockSize}`,
      {
        field,
      },
    );
  }
  return tr;
}

/** Bytes used by n elements of `type` (n a multiple of the block size). */
function bytesFor(type: GGMLType, n: number): number {
  const tr = ggmlTypeTraits(type);
  return (n / tr.blockSize) * tr.typeSize;
}

/**
 * Quantize rows of nPerRow floats. Rows are contiguous in src (row-major) and in the result, each row
 * taking ggmlRowBytes(type, nPerRow) bytes, exactly as ggml_quantize_chunk lays them out.
 */
export function quantizeRows(type: GGMLType, src: Float32Array, nPerRow: number): Uint8Array {
  const f = formatOrThrow(type, "quantize");
  checkCount(type, nPerRow, "nPerRow");
  if (nPerRow === 0 ? src.length !== 0 : src.length % nPerRow !== 0) {
    throw new InputError(`source of ${src.length} floats is not a whole number of rows of ${nPerRow}`, {
      field: "src",
    });
  }
  const out = new Uint8Array(bytesFor(type, src.length));
  // Blocks never straddle rows (nPerRow is a multiple of the block size), so one pass covers all rows.
  f.quantize!(src, 0, out, 0, src.length);
  return out;
}

/** Dequantize nElements from the start of bytes into a new Float32Array. */
export function dequantizeRows(type: GGMLType, bytes: Uint8Array, nElements: number): Float32Array {
  const out = new Float32Array(nElements);
  dequantizeInto(type, bytes, 0, out, 0, nElements);
  return out;
}

/** Dequantize nElements starting at bytes[byteOffset] into out[outOffset..]; allocates nothing. */
export function dequantizeInto(
  type: GGMLType,
  bytes: Uint8Array,
  byteOffset: number,
  out: Float32Array,
  outOffset: number,
  nElements: number,
): void {
  const f = formatOrThrow(type, "dequantize");
  checkCount(type, nElements, "nElements");
  const need = bytesFor(type, nElements);
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset + need > bytes.length) {
    throw new InputError(
      `${ggmlTypeName(type)} data too short: ${nElements} elements need ${need} bytes at offset ${byteOffset}, have ${bytes.length}`,
      { offset: byteOffset, field: "bytes" },
    );
  }
  if (!Number.isSafeInteger(outOffset) || outOffset < 0 || outOffset + nElements > out.length) {
    throw new InputError(`output of ${out.length} floats cannot hold ${nElements} at ${outOffset}`, {
      field: "out",
    });
  }
  f.dequantize(bytes, byteOffset, out, outOffset, nElements);
}

// Growable scratch buffers shared by the dot helpers (single-threaded reference code).
const f32Scratch: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
let u8Scratch = new Uint8Array(0);
function scratchF32(i: number, n: number): Float32Array {
  if (f32Scratch[i].length < n) f32Scratch[i] = new Float32Array(n);
  return f32Scratch[i];
}
function scratchU8(n: number): Uint8Array {
  if (u8Scratch.length < n) u8Scratch = new Uint8Array(n);
  return u8Scratch;
}

function checkDotArgs(type: GGMLType, row: Uint8Array, rowOffset: number, x: Float32Array, n: number): void {
  checkCount(type, n, "n");
  const need = bytesFor(type, n);
  if (!Number.isSafeInteger(rowOffset) || rowOffset < 0 || rowOffset + need > row.length) {
    throw new InputError(
      `${ggmlTypeName(type)} row too short: need ${need} bytes at offset ${rowOffset}, have ${row.length}`,
      {
        offset: rowOffset,
        field: "row",
      },
    );
  }
  if (x.length < n) throw new InputError(`x has ${x.length} floats, dot needs ${n}`, { field: "x" });
}

/**
 * Dot of one quantized row with float x, the way ggml-cpu computes it: x is quantized to the type's
 * vec_dot_type (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants, F16/BF16 for those)
 * with the reference activation quantizer, then the generic block dot runs. Matches llama.cpp's
 * portable (non-SIMD) CPU build bit for bit.
 */
export function vecDot(
  type: GGMLType,
  row: Uint8Array,
  rowOffset: number,
  x: Float32Array,
  n: number,
): number {
  const f = formatOrThrow(type, "dot");
  checkDotArgs(type, row, rowOffset, x, n);
  const yType = f.dotType!;
  const y = scratchU8(bytesFor(yType, n));
  FORMATS.get(yType)!.quantize!(x, 0, y, 0, n);
  return f.dot!(row, rowOffset, y, 0, n);
}

/** Dequantize the row, then dot with x in float64: the "exact" value vecDot approximates. */
export function vecDotDequantized(
  type: GGMLType,
  row: Uint8Array,
  rowOffset: number,
  x: Float32Array,
  n: number,
): number {
  formatOrThrow(type, "dequantize");
  checkDotArgs(type, row, rowOffset, x, n);
  const w = scratchF32(0, n);
  FORMATS.get(type)!.dequantize(row, rowOffset, w, 0, n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += w[i] * x[i];
  return sum;
}
