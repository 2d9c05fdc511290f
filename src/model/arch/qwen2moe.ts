/**
 * qwen2moe / qwen3moe: routed experts (softmax top-k) plus, for qwen2moe, a shared expert whose
 * output is gated by sigmoid(ffn_gate_inp_shexp . x). qwen2moe does not renormalise the top-k
 * weights unless the metadata says so; qwen3moe does (norm_topk_prob = true in its configs).
 */
import { BASE_SPEC, type ArchSpec } from "./spec.js";

export const QWEN2MOE: ArchSpec = {
  ...BASE_SPEC,
  name: "qwen2moe",
  ropeOrder: "neox",
  qkvBias: "required",
  moe: true,
  sharedExpertGate: true,
};

export const QWEN3MOE: ArchSpec = {
  ...BASE_SPEC,
  name: "qwen3moe",
  ropeOrder: "neox",
  qkNorm: true,
  moe: true,
  normTopKDefault: true,
};
