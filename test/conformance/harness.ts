/**
 * One conformance check: a factory model, our forward pass and llama.cpp on the same tokens.
 * Reports the max absolute logit error at the prompt's last position and the greedy
 * continuations; a greedy mismatch is accepted only at a near-tie of the reference's top-2 logits.
 */
import { join } from "node:path";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadModel } from "../../src/model/index.js";
import { ggmlOrderOps } from "../../src/model/reference/ggml-order/index.js";
import type { BlockOps } from "../../src/model/blocks/ops.js";
import { dequantizeRowAny } from "../../src/model/blocks/linear.js";
import type { KVDType } from "../../src/kv/cache.js";
import { referenceRun } from "./reference.js";
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
  /**
   * With `roundingBudget`: per step, max |dlogit| between our reference run and the same run with
   * activations kept in float32 before every product (no Q8_0/Q8_1/Q8_K or half rounding): how much
   * this model's logits move under its activation rounding as a whole. See roundingTolerance().
   */
  roundEffect?: number[];
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
 * Tolerance for paths that round activations to 8 bits (Q8_0 / Q8_1 / Q8_K before the integer
 * dots of quantized weights) or to bfloat16. Arithmetic: q = round(x / d), d = amax / 127 per
 * block. A 1-ulp float difference before the rounding (another summation order, another exp)
 * moves x / d across a .5 boundary for an element now and then, and that element moves by a whole
 * step d = amax/127: 1/127 of the block's largest value, ~16x an F16 flip. The next product spreads
 * that step over every output, whose own roundings then flip with probability ~|shift| / d each,
 * so a single flip cascades (measured on these random-weight models: 1e-2..1e-1 at the logits a
 * few greedy steps after one flip). What a cascade can reach is bounded by the rounding noise the
 * model carries anyway: each implementation = exact-activation logits + the effect of its own
 * rounding pattern, patterns drawn from the same distribution, so |ours - theirs| <= E_ours +
 * E_theirs ~ 2 E, with E = `roundEffect` measured on this model (our run vs float activations).
 * We allow 3 E (the reference's pattern may land a little worse than ours) and never less than the
 * F32 paths' 1e-4. A real bug (a wrong scale, offset, block or order of experts) moves logits by
 * O(1), far past this; an empirical check that the bound is not loose for nothing is in the
 * per-backend table of the conformance notes (AVX2 reference: ~1e-6, AVX-512: up to ~0.1).
 */
export function roundingTolerance(r: ConformanceResult): number {
  if (!r.roundEffect)
    throw new Error("roundingTolerance needs runConformance(..., { roundingBudget: true })");
  return Math.max(1e-4, 3 * Math.max(...r.roundEffect));
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

function top2Gap(x: Float32Array): number {
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
  opts: { roundingBudget?: boolean } = {},
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
  let roundEffect: number[] | undefined;
  if (opts.roundingBudget) {
    // The same teacher-forced run with float activations (same tokens, same cache type).
    const fm = await loadModel(path, { blockOps: floatActivationOps });
    const fc = fm.newCache(prompt.length + nGreedy + 1, kv);
    const mc = model.newCache(prompt.length + nGreedy + 1, kv);
    roundEffect = [];
    let a = fm.forward(prompt, fc)[0];
    let b = model.forward(prompt, mc)[0];
    for (let s = 0; s < nGreedy; s++) {
      let e = 0;
      for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
      roundEffect.push(e);
      if (s + 1 < nGreedy) {
        a = fm.forward([ref.greedy[s]], fc)[0];
        b = model.forward([ref.greedy[s]], mc)[0];
      }
    }
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
    roundEffect,
  };
}
