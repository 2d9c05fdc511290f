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
  ours: number[];
  ref: number[];
  /** First greedy step where the tokens differ (-1 if none) and the reference's top-2 gap there. */
  firstDiff: number;
  gapAtDiff: number;
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
  const ref = await referenceRun(path, prompt, nGreedy, model.config.nVocab, { kv: kv === "f32" ? "F32" : "F16" });
  const cache = model.newCache(prompt.length + nGreedy + 1, kv);
  let logits = model.forward(prompt, cache)[0];
  let maxErr = 0;
  for (let i = 0; i < logits.length; i++) maxErr = Math.max(maxErr, Math.abs(logits[i] - ref.logits[i]));
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
  return { maxErr, ours, ref: ref.greedy, firstDiff, gapAtDiff };
}
