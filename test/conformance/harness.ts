/**
 * One conformance check: a factory model, our forward pass and llama.cpp on the same tokens.
 * Reports the max absolute logit error at the prompt's last position and the greedy
 * continuations; a greedy mismatch is accepted only at a near-tie of the reference's top-2 logits.
 */
import { join } from "node:path";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadModel } from "../../src/model/index.js";
import { ggmlOrderOps } from "../../src/model/reference/ggml-order/index.js";
import { GGMLType } from "../../src/gguf/types.js";
import type { BlockOps } from "../../src/model/blocks/ops.js";
import { dequantizeRowAny } from "../../src/model/blocks/linear.js";
import type { KVDType } from "../../src/kv/cache.js";
import { referenceBackend, referenceRun } from "./reference.js";
import type { KernelSet } from "../../src/kernels/kernel-set.js";

export interface ConformanceResult {
  /** Max |dlogit| over the prompt's last position and every teacher-forced greedy step. */
  maxErr: number;
  /** Largest |logit| of the reference over those steps (scale for relative bounds). */
  scale: number;
  ours: number[];
  ref: number[];
  /** First greedy step where the tokens differ (-1 if none) and the reference's top-2 gap there. */
  firstDiff: number;
  gapAtDiff: number;
  /**
   * Teacher-forced greedy steps (ours fed llama.cpp's tokens): max |dlogit| and max |logit| of the
   * reference at each step (step 0 = the prompt's last position: maxErr, scale).
   */
  stepErr: number[];
  stepScale: number[];
}

/**
 * Tolerance for paths that round values through IEEE half (F16 weights' activations, an F16 KV
 * cache). Two correct implementations that sum in different orders (ggml's AVX2 vs AVX-512 builds,
 * or ours) differ by a float ulp before the rounding; where a value sits near a half midpoint that
 * ulp flips the rounding and the value moves by one half ulp (2u, u = 2^-11 relative). Such flips
 * are rare and uncorrelated, so what reaches the logits stays around one such step at the largest
 * logit: we allow 4u x max|logit| (two flips' worth; 1.3e-2 at |logit| 6.5, where the AVX-512 build
 * measured 2.8e-3 on F16 weights and 4.7e-4 on an F16 cache). F32 and 8-bit paths keep 1e-4.
 */
export function halfTolerance(scale: number): number {
  return 4 * 2 ** -11 * Math.max(scale, 1e-3);
}

/**
 * Tolerance for paths that round activations to 8 bits before a product: Q8_0 / Q8_1 / Q8_K
 * activations of quantized weights, and bfloat16 activations of BF16 weights.
 * Arithmetic: q = round(x / d) with d = amax / 127 per block (32 or 256 values). A 1-ulp float
 * difference before the rounding (another summation order, another exp; AVX2 vs AVX-512 builds,
 * or ours) moves x / d across a .5 boundary now and then, and that element then moves by a whole
 * step d: 1/127 of its block's largest value (bfloat16: one ulp, <= 2^-7 = 1/128 of the value,
 * the same size). That is ~16x an F16 flip, and unlike an F16 flip it does not stay local: the
 * next product spreads the step over every output, where later roundings flip again with
 * probability ~|shift| / d each, so one flip cascades into a few steps' worth at the logits
 * (teacher-forced greedy steps a few tokens after a flip measured up to 2.2 steps' worth, 1.7e-2 of
 * max |logit|, against llama.cpp's AVX2 and AVX-512 builds alike). We allow 4 steps' worth of the
 * largest logit, 4/127 x max|logit| (0.28 at |logit| 9): twice the worst cascade seen, while any
 * real defect (a wrong scale, offset, block layout or expert order) moves logits by O(1).
 */
export function byteTolerance(scale: number): number {
  return (4 / 127) * Math.max(scale, 1e-3);
}

/**
 * Whether the reference build multiplies F16 weights by F32 activations without rounding them to
 * half first. ggml's generic CPU path (the AVX2 and AVX-512 builds, and ours after it) converts
 * each activation row to F16 before an F16 product; the Sapphire Rapids backend (the only x86
 * variant built with AMX) places F16 weights in its AMX buffer, whose F16 kernel
 * (ggml-cpu/amx/mmq.cpp, tinygemm_kernel_avx<float, ggml_fp16_t, float>) reads the activations as
 * F32.
 */
export function referenceKeepsF16Activations(): boolean {
  return /sapphirerapids/.test(referenceBackend());
}

/**
 * Tolerance for F16 weights against a reference that does not round the activations
 * (referenceKeepsF16Activations) while we do, as ggml's other builds do. Then every activation of
 * every F16 product differs by up to u = 2^-11 of itself: not a rare flip but a systematic
 * rounding at each product stage. Each stage moves its outputs by at most u relative (summed
 * with random signs, usually less), and the nLayer x 4 stages (QKV, output projection, gate/up,
 * down) plus the vocabulary projection add up along the residual stream: (4 nLayer + 1) u of
 * the largest logit, doubled for softmax and normalisation gains: 2 (4 nLayer + 1) u x max|logit|
 * (18u = 8.8e-3 relative at 2 layers; measured up to 10u on the Sapphire Rapids build).
 */
export function oneSidedHalfTolerance(scale: number, nLayer: number): number {
  return 2 * (4 * nLayer + 1) * 2 ** -11 * Math.max(scale, 1e-3);
}

/** The tolerance of a weight type's product path: F32 1e-4, F16 halfTolerance (or
 *  oneSidedHalfTolerance against a reference that keeps F16 products' activations in F32), others
 *  byteTolerance. */
export function typeTolerance(type: GGMLType, scale: number, nLayer = 2): number {
  if (type === GGMLType.F32) return 1e-4;
  if (type === GGMLType.F16)
    return referenceKeepsF16Activations() ? oneSidedHalfTolerance(scale, nLayer) : halfTolerance(scale);
  return byteTolerance(scale);
}
/**
 * Reference ops with activations kept in float: weights decoded to float, products summed in
 * double. Only the activation rounding differs from ggmlOrderOps (for roundEffect).
 */
export const floatActivationOps: BlockOps = {
  ...ggmlOrderOps,
  name: "ggml-order, float activations",
  matmul(w, x, nTok, out, xStride = w.cols, outStride = w.rows, vecOrder) {
    if (w.f32) return ggmlOrderOps.matmul(w, x, nTok, out, xStride, outStride, vecOrder);
    const row = new Float32Array(w.cols);
    for (let r = 0; r < w.rows; r++) {
      dequantizeRowAny(w.type, w.data, r * w.rowBytes, row, 0, w.cols, w.name);
      for (let t = 0; t < nTok; t++) {
        let s = 0;
        for (let c = 0; c < w.cols; c++) s += row[c] * x[t * xStride + c];
        out[t * outStride + r] = s;
      }
    }
  },
};

export function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
}

export function top2Gap(x: Float32Array): number {
  let a = -Infinity;
  let b = -Infinity;
  for (const v of x) {
    if (v > a) [a, b] = [v, a];
    else if (v > b) b = v;
  }
  return a - b;
}

export async function runConformance(
  dir: string,
  file: string,
  spec: TestModelSpec,
  prompt: number[],
  nGreedy: number,
  kv: KVDType = "f32",
  kernels?: KernelSet,
): Promise<ConformanceResult> {
  const path = join(dir, file);
  await writeTestModel(path, spec);
  // Without a KernelSet: the reference operator set in llama.cpp's (AVX2 build's) float order.
  const model = await loadModel(path, { kernels, blockOps: kernels ? undefined : ggmlOrderOps });
  const ref = await referenceRun(path, prompt, nGreedy, model.config.nVocab, {
    kv: kv === "f32" ? "F32" : "F16",
  });
  const cache = model.newCache(prompt.length + nGreedy + 1, kv);
  let logits = model.forward(prompt, cache)[0];
  // Our greedy continuation, teacher-forced on llama.cpp's tokens so each step compares like with like.
  const ours: number[] = [];
  const stepErr: number[] = [];
  const stepScale: number[] = [];
  let firstDiff = -1;
  let gapAtDiff = 0;
  for (let s = 0; s < nGreedy; s++) {
    const rl = ref.greedyLogits[s];
    let e = 0;
    let sc = 0;
    for (let i = 0; i < logits.length; i++) {
      e = Math.max(e, Math.abs(logits[i] - rl[i]));
      sc = Math.max(sc, Math.abs(rl[i]));
    }
    stepErr.push(e);
    stepScale.push(sc);
    const tok = argmax(logits);
    ours.push(tok);
    if (tok !== ref.greedy[s] && firstDiff < 0) {
      firstDiff = s;
      gapAtDiff = top2Gap(ref.greedyLogits[s]);
    }
    if (s + 1 < nGreedy) logits = model.forward([ref.greedy[s]], cache)[0];
  }
  return {
    maxErr: Math.max(...stepErr),
    scale: Math.max(...stepScale),
    ours,
    ref: ref.greedy,
    firstDiff,
    gapAtDiff,
    stepErr,
    stepScale,
  };
}
