/**
 * REFERENCE ONLY (see index.ts): matrix products in the float order of ggml's x86 AVX2 CPU backend.
 * Activations are converted as ggml does before its dot products (the "vec_dot_type" of each
 * weight type) with the AVX2 quantizers: F32 -> F32; F16 -> F16; BF16 -> BF16;
 * Q4_0/Q5_0/Q8_0/IQ4_NL/MXFP4 -> Q8_0; Q4_1/Q5_1 -> Q8_1; K-quants and IQ4_XS -> Q8_K. F32 and F16 sums follow vec_dot /
 * tinyBLAS (dot.ts); Q4_0 the repacked or 8-lane order, Q4_1 its 8-lane order (qdot.ts); other
 * types keep src/quant's dots (they match to ~1e-6).
 */
import { GGMLType } from "../../../gguf/types.js";
import type { Weight } from "../../weights.js";
import { quantizeRowF16, dequantizeRowF16 } from "../../../quant/f16.js";
import { dequantizeRowBF16, quantizeRowBF16 } from "../../../quant/bf16.js";
import { vecDotQ4_0Q8_0 } from "../../../quant/q4_0.js";
import { vecDotQ5_0Q8_0 } from "../../../quant/q5_0.js";
import { vecDotQ5_1Q8_1 } from "../../../quant/q5_1.js";
import { vecDotQ8_0Q8_0, Q8_0_BYTES, QK8_0 } from "../../../quant/q8_0.js";
import { Q8_1_BYTES, QK8_1 } from "../../../quant/q8_1.js";
import { vecDotQ4_KQ8_K } from "../../../quant/q4_k.js";
import { vecDotQ5_KQ8_K } from "../../../quant/q5_k.js";
import { vecDotQ6_KQ8_K } from "../../../quant/q6_k.js";
import { quantizeRowQ8_K, Q8_K_BYTES, QK_K } from "../../../quant/q8_k.js";
import { vecDotQ2_KQ8_K } from "../../../quant/q2_k.js";
import { vecDotQ3_KQ8_K } from "../../../quant/q3_k.js";
import { vecDotIQ4_NLQ8_0 } from "../../../quant/iq4_nl.js";
import { vecDotMXFP4Q8_0 } from "../../../quant/mxfp4.js";
import { vecDotIQ4_XSQ8_K } from "../../../quant/iq4_xs.js";
import { dequantizeRowAny, matmul as portableMatmul } from "../../blocks/linear.js";
import { dotGgml } from "./dot.js";
import {
  dotQ4_0Q8_0Repacked,
  dotQ4_0Q8_0Vec,
  dotQ4_1Q8_1Vec,
  quantizeRowQ8_0Avx,
  quantizeRowQ8_1Avx,
} from "./qdot.js";

type QuantFn = (src: Float32Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number) => void;
type DotFn = (x: Uint8Array, xOff: number, y: Uint8Array, yOff: number, n: number) => number;
interface IntPath {
  quantize: QuantFn;
  blockSize: number;
  blockBytes: number;
  dot: DotFn;
}
const q80 = (dot: DotFn): IntPath => ({
  quantize: quantizeRowQ8_0Avx,
  blockSize: QK8_0,
  blockBytes: Q8_0_BYTES,
  dot,
});
const q81 = (dot: DotFn): IntPath => ({
  quantize: quantizeRowQ8_1Avx,
  blockSize: QK8_1,
  blockBytes: Q8_1_BYTES,
  dot,
});
const q8k = (dot: DotFn): IntPath => ({
  quantize: quantizeRowQ8_K,
  blockSize: QK_K,
  blockBytes: Q8_K_BYTES,
  dot,
});

const INT = new Map<GGMLType, IntPath>([
  [GGMLType.Q4_0, q80(vecDotQ4_0Q8_0)],
  [GGMLType.Q4_1, q81(dotQ4_1Q8_1Vec)],
  [GGMLType.Q5_0, q80(vecDotQ5_0Q8_0)],
  [GGMLType.Q5_1, q81(vecDotQ5_1Q8_1)],
  [GGMLType.Q8_0, q80(vecDotQ8_0Q8_0)],
  [GGMLType.Q4_K, q8k(vecDotQ4_KQ8_K)],
  [GGMLType.Q5_K, q8k(vecDotQ5_KQ8_K)],
  [GGMLType.Q6_K, q8k(vecDotQ6_KQ8_K)],
  [GGMLType.Q2_K, q8k(vecDotQ2_KQ8_K)],
  [GGMLType.Q3_K, q8k(vecDotQ3_KQ8_K)],
  [GGMLType.IQ4_NL, q80(vecDotIQ4_NLQ8_0)],
  [GGMLType.MXFP4, q80(vecDotMXFP4Q8_0)],
  [GGMLType.IQ4_XS, q8k(vecDotIQ4_XSQ8_K)],
]);
const HALF = new Map<GGMLType, { q: QuantFn; dq: typeof dequantizeRowF16 }>([
  [GGMLType.F16, { q: quantizeRowF16, dq: dequantizeRowF16 }],
  [GGMLType.BF16, { q: quantizeRowBF16, dq: dequantizeRowBF16 }],
]);

/** Q4_0 matrices with a multiple of 8 rows are repacked by llama.cpp (one accumulator per output). */
function dotFor(w: Weight, p: IntPath): DotFn {
  if (w.type !== GGMLType.Q4_0) return p.dot;
  return w.rows % 8 === 0 ? dotQ4_0Q8_0Repacked : dotQ4_0Q8_0Vec;
}

/** BlockOps.matmul in ggml's order. `vecOrder`: mul_mat_id (MoE experts) always runs vec_dot. */
export function matmulGgml(
  w: Weight,
  x: Float32Array,
  nTok: number,
  out: Float32Array,
  xStride = w.cols,
  outStride = w.rows,
  vecOrder = false,
): void {
  const { rows, cols } = w;
  // ggml picks tinyBLAS for 2+ activation rows of a plain mul_mat, vec_dot for one row or mul_mat_id.
  const nRows = vecOrder ? 1 : nTok;
  if (w.kernel) {
    portableMatmul(w, x, nTok, out, xStride, outStride);
    return;
  }
  if (w.f32) {
    const W = w.f32;
    for (let t = 0; t < nTok; t++) {
      const xo = t * xStride;
      const oo = t * outStride;
      for (let r = 0; r < rows; r++) out[oo + r] = dotGgml(W, r * cols, x, xo, cols, nRows, false);
    }
    return;
  }
  const ip = INT.get(w.type);
  if (ip) {
    const aBytes = (cols / ip.blockSize) * ip.blockBytes;
    const aq = new Uint8Array(aBytes * nTok);
    for (let t = 0; t < nTok; t++) ip.quantize(x, t * xStride, aq, t * aBytes, cols);
    const dot = dotFor(w, ip);
    for (let r = 0; r < rows; r++) {
      const wo = r * w.rowBytes;
      for (let t = 0; t < nTok; t++) out[t * outStride + r] = dot(w.data, wo, aq, t * aBytes, cols);
    }
    return;
  }
  const hp = HALF.get(w.type);
  if (!hp) {
    portableMatmul(w, x, nTok, out, xStride, outStride);
    return;
  }
  // Activations rounded through the weight's storage type, each weight row decoded once.
  const tmp = new Uint8Array(cols * 2);
  const xs = new Float32Array(cols * nTok);
  for (let t = 0; t < nTok; t++) {
    hp.q(x, t * xStride, tmp, 0, cols);
    hp.dq(tmp, 0, xs, t * cols, cols);
  }
  // F16: vec_dot_f16 / tinyBLAS widen both halves and sum in float32 (dotGgml). BF16: a double sum.
  const ordered = w.type === GGMLType.F16;
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    dequantizeRowAny(w.type, w.data, r * w.rowBytes, row, 0, cols, w.name);
    for (let t = 0; t < nTok; t++) {
      const xo = t * cols;
      if (ordered) {
        out[t * outStride + r] = dotGgml(row, 0, xs, xo, cols, nRows, true);
        continue;
      }
      let s = 0;
      for (let c = 0; c < cols; c++) s += row[c] * xs[xo + c];
      out[t * outStride + r] = s;
    }
  }
}
