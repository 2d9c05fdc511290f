/**
 * Matrix products against weights kept in their GGUF type: out[t, r] = sum_c W[r, c] * x[t, c].
 *
 * A weight attached to a KernelSet (`attachKernels`, e.g. the WASM SIMD set) runs its products
 * there. Others run here in plain TS on src/quant, with activations converted to the weight type's
 * ggml "vec_dot_type" (portable `_ref` quantizers, straightforward sums):
 *   F32 -> F32; F16 -> F16; BF16 -> BF16; Q4_0/Q5_0/Q8_0/IQ4_NL/MXFP4 -> Q8_0; Q4_1/Q5_1 -> Q8_1;
 *   K-quants and IQ4_XS -> Q8_K.
 * (The conformance tests' reference order lives in src/model/reference/ggml-order.)
 */
import { KernelError } from "../../errors.js";
import { GGMLType, ggmlTypeTraits } from "../../gguf/types.js";
import type { Weight } from "../weight.js";
import { dequantizeRowF16, quantizeRowF16 } from "../../quant/f16.js";
import { dequantizeRowBF16, quantizeRowBF16 } from "../../quant/bf16.js";
import { dequantizeRowQ4_0, vecDotQ4_0Q8_0 } from "../../quant/q4_0.js";
import { dequantizeRowQ4_1, vecDotQ4_1Q8_1 } from "../../quant/q4_1.js";
import { dequantizeRowQ5_0, vecDotQ5_0Q8_0 } from "../../quant/q5_0.js";
import { dequantizeRowQ5_1, vecDotQ5_1Q8_1 } from "../../quant/q5_1.js";
import { dequantizeRowQ8_0, quantizeRowQ8_0, vecDotQ8_0Q8_0, Q8_0_BYTES, QK8_0 } from "../../quant/q8_0.js";
import { quantizeRowQ8_1, Q8_1_BYTES, QK8_1 } from "../../quant/q8_1.js";
import { dequantizeRowQ4_K, vecDotQ4_KQ8_K } from "../../quant/q4_k.js";
import { dequantizeRowQ5_K, vecDotQ5_KQ8_K } from "../../quant/q5_k.js";
import { dequantizeRowQ6_K, vecDotQ6_KQ8_K } from "../../quant/q6_k.js";
import { quantizeRowQ8_K, Q8_K_BYTES, QK_K } from "../../quant/q8_k.js";
import { dequantizeRowQ2_K, vecDotQ2_KQ8_K } from "../../quant/q2_k.js";
import { dequantizeRowQ3_K, vecDotQ3_KQ8_K } from "../../quant/q3_k.js";
import { dequantizeRowIQ4_NL, vecDotIQ4_NLQ8_0 } from "../../quant/iq4_nl.js";
import { dequantizeRowMXFP4, vecDotMXFP4Q8_0 } from "../../quant/mxfp4.js";
import { dequantizeRowIQ4_XS, vecDotIQ4_XSQ8_K } from "../../quant/iq4_xs.js";

type RowFn = (src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, n: number) => void;
type QuantFn = (src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number) => void;
type DotFn = (x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number) => number;

interface ActFormat {
  quantize: QuantFn;
  blockSize: number;
  blockBytes: number;
}
const Q8_0_ACT: ActFormat = { quantize: quantizeRowQ8_0, blockSize: QK8_0, blockBytes: Q8_0_BYTES };
const Q8_1_ACT: ActFormat = { quantize: quantizeRowQ8_1, blockSize: QK8_1, blockBytes: Q8_1_BYTES };
const Q8_K_ACT: ActFormat = { quantize: quantizeRowQ8_K, blockSize: QK_K, blockBytes: Q8_K_BYTES };

interface TypeOps {
  dequant: RowFn;
  /** Integer-dot types: activation format and dot. */
  act?: ActFormat;
  dot?: DotFn;
  /** Float types other than F32: activations are rounded through this storage first. */
  roundAct?: { q: QuantFn; dq: RowFn; bytes: number };
}

const dequantF32: RowFn = (src, so, dst, d, n) => {
  const v = new DataView(src.buffer, src.byteOffset + so, n * 4);
  for (let i = 0; i < n; i++) dst[d + i] = v.getFloat32(i * 4, true);
};

const OPS = new Map<GGMLType, TypeOps>([
  [GGMLType.F32, { dequant: dequantF32 }],
  [
    GGMLType.F16,
    { dequant: dequantizeRowF16, roundAct: { q: quantizeRowF16, dq: dequantizeRowF16, bytes: 2 } },
  ],
  [
    GGMLType.BF16,
    { dequant: dequantizeRowBF16, roundAct: { q: quantizeRowBF16, dq: dequantizeRowBF16, bytes: 2 } },
  ],
  [GGMLType.Q4_0, { dequant: dequantizeRowQ4_0, act: Q8_0_ACT, dot: vecDotQ4_0Q8_0 }],
  [GGMLType.Q4_1, { dequant: dequantizeRowQ4_1, act: Q8_1_ACT, dot: vecDotQ4_1Q8_1 }],
  [GGMLType.Q5_0, { dequant: dequantizeRowQ5_0, act: Q8_0_ACT, dot: vecDotQ5_0Q8_0 }],
  [GGMLType.Q5_1, { dequant: dequantizeRowQ5_1, act: Q8_1_ACT, dot: vecDotQ5_1Q8_1 }],
  [GGMLType.Q8_0, { dequant: dequantizeRowQ8_0, act: Q8_0_ACT, dot: vecDotQ8_0Q8_0 }],
  [GGMLType.Q4_K, { dequant: dequantizeRowQ4_K, act: Q8_K_ACT, dot: vecDotQ4_KQ8_K }],
  [GGMLType.Q5_K, { dequant: dequantizeRowQ5_K, act: Q8_K_ACT, dot: vecDotQ5_KQ8_K }],
  [GGMLType.Q6_K, { dequant: dequantizeRowQ6_K, act: Q8_K_ACT, dot: vecDotQ6_KQ8_K }],
  [GGMLType.Q2_K, { dequant: dequantizeRowQ2_K, act: Q8_K_ACT, dot: vecDotQ2_KQ8_K }],
  [GGMLType.Q3_K, { dequant: dequantizeRowQ3_K, act: Q8_K_ACT, dot: vecDotQ3_KQ8_K }],
  [GGMLType.IQ4_NL, { dequant: dequantizeRowIQ4_NL, act: Q8_0_ACT, dot: vecDotIQ4_NLQ8_0 }],
  [GGMLType.MXFP4, { dequant: dequantizeRowMXFP4, act: Q8_0_ACT, dot: vecDotMXFP4Q8_0 }],
  [GGMLType.IQ4_XS, { dequant: dequantizeRowIQ4_XS, act: Q8_K_ACT, dot: vecDotIQ4_XSQ8_K }],
]);

function ops(type: GGMLType, name: string): TypeOps {
  const o = OPS.get(type);
  if (!o) {
    const tn = (() => {
      try {
        return ggmlTypeTraits(type).name;
      } catch {
        return String(type);
      }
    })();
    throw new KernelError(`weight type ${tn} is not supported by the model's matrix products`, {
      field: name,
    });
  }
  return o;
}

export function isSupportedWeightType(type: GGMLType): boolean {
  return OPS.has(type);
}

/** Decode n elements of any supported type starting at byte `srcOff` (1-D tensors, embedding rows). */
export function dequantizeRowAny(
  type: GGMLType,
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
  name = "",
): void {
  ops(type, name).dequant(src, srcOff, dst, dstOff, n);
}

/** Row `r` of matrix `w` (an embedding lookup) into dst. */
export function getRow(w: Weight, r: number, dst: Float32Array, dstOff = 0): void {
  if (r < 0 || r >= w.rows * w.nMat)
    throw new KernelError(`row ${r} out of range 0..${w.rows - 1}`, { field: w.name });
  if (w.data.length === 0 && w.kernel) {
    // The only copy lives in the KernelSet (tied embeddings): decode the row from there.
    w.kernel.ks.dequantizeRow(w.kernel.pw, r, dst.subarray(dstOff, dstOff + w.cols));
    return;
  }
  ops(w.type, w.name).dequant(w.data, r * w.rowBytes, dst, dstOff, w.cols);
}

/**
 * out[t * outStride + r] (r < w.rows) = W[r, :] . x[t * xStride .. + w.cols] for t < nTok.
 * Strides default to dense rows.
 */
export function matmul(
  w: Weight,
  x: Float32Array,
  nTok: number,
  out: Float32Array,
  xStride = w.cols,
  outStride = w.rows,
): void {
  const { rows, cols } = w;
  if (w.kernel && xStride === cols && outStride === rows) {
    w.kernel.ks.matmul(w.kernel.pw, x.subarray(0, nTok * cols), nTok, out.subarray(0, nTok * rows));
    return;
  }
  if (w.f32) {
    const W = w.f32;
    for (let t = 0; t < nTok; t++) {
      const xo = t * xStride;
      const oo = t * outStride;
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0, wo = r * cols; c < cols; c++) s += W[wo + c] * x[xo + c];
        out[oo + r] = s;
      }
    }
    return;
  }
  const o = ops(w.type, w.name);
  if (o.act && o.dot) {
    // Quantize each activation row once, then integer dots per weight row.
    const act = o.act;
    const aBytes = (cols / act.blockSize) * act.blockBytes;
    const aq = new Uint8Array(aBytes * nTok);
    for (let t = 0; t < nTok; t++) act.quantize(x, t * xStride, aq, t * aBytes, cols);
    const dot = o.dot;
    for (let r = 0; r < rows; r++) {
      const wo = r * w.rowBytes;
      for (let t = 0; t < nTok; t++) out[t * outStride + r] = dot(w.data, wo, aq, t * aBytes, cols);
    }
    return;
  }
  // Float types: round activations through the weight's storage type, decode each row once.
  let xs = x;
  let xsStride = xStride;
  if (o.roundAct) {
    const tmp = new Uint8Array(cols * o.roundAct.bytes);
    xs = new Float32Array(cols * nTok);
    xsStride = cols;
    for (let t = 0; t < nTok; t++) {
      o.roundAct.q(x, t * xStride, tmp, 0, cols);
      o.roundAct.dq(tmp, 0, xs, t * cols, cols);
    }
  }
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    o.dequant(w.data, r * w.rowBytes, row, 0, cols);
    for (let t = 0; t < nTok; t++) {
      const xo = t * xsStride;
      let s = 0;
      for (let c = 0; c < cols; c++) s += row[c] * xs[xo + c];
      out[t * outStride + r] = s;
    }
  }
}
