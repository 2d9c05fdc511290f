/**
 * One conformance check: a factory model, our forward pass and llama.cpp on the same tokens.
 * Reports the max absolute logit error at the prompt's last position and the greedy
 * continuations; a greedy mismatch is accepted only at a near-tie of the reference's top-2 logits.
 */
import { join } from "node:path";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadModel } from "../../src/model/index.js";
import type { KVDType } from "../../src/kv/cache.js";
import { referenceRun } from "./reference.js";
import type { KernelSet } from "../../src/kernels/kernel-set.js";

export interface ConformanceResult {
  maxErr: number;
  /** Largest |logit| of the reference at the prompt's last position (scale for relative bounds). */
  scale: number;
  ours: number[];
  ref: number[];
  /** First greedy step where the tokens differ (-1 if none) and the reference's top-2 gap there. */
  firstDiff: number;
  gapAtDiff: number;
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
): Promise<ConformanceResult> {
  const path = join(dir, file);
  await writeTestModel(path, spec);
  const model = await loadModel(path, { kernels });
  const ref = await referenceRun(path, prompt, nGreedy, model.config.nVocab, {
    kv: kv === "f32" ? "F32" : "F16",
  });
  const cache = model.newCache(prompt.length + nGreedy + 1, kv);
  let logits = model.forward(prompt, cache)[0];
  let maxErr = 0;
  let scale = 0;
  for (let i = 0; i < logits.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(logits[i] - ref.logits[i]));
    scale = Math.max(scale, Math.abs(ref.logits[i]));
  }
  // Our greedy continuation, teacher-forced on llama.cpp's tokens so each step compares like with like.
  const ours: number[] = [];
  let firstDiff = -1;
  let gapAtDiff = 0;
  for (let s = 0; s < nGreedy; s++) {
    const tok = argmax(logits);
    ours.push(tok);
    if (tok !== ref.greedy[s] && firstDiff < 0) {
      firstDiff = s;
      gapAtDiff = top2Gap(ref.greedyLogits[s]);
    }
    if (s + 1 < nGreedy) logits = model.forward([ref.greedy[s]], cache)[0];
  }
  return { maxErr, scale, ours, ref: ref.greedy, firstDiff, gapAtDiff };
}
