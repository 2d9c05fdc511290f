/**
 * gpt-oss (OpenAI's open-weight MoE; llama.cpp `openai-moe`): GQA attention with q/k/v and output
 * biases, NEOX RoPE (YaRN-scaled in the released files), per-head attention sinks, local
 * (sliding-window) and global layers alternating (pattern 2: even layers local); the FFN input
 * norm is stored as `post_attention_norm`; every layer's FFN is a MoE whose router has a bias,
 * whose experts (MXFP4 in the released files) have biases on gate, up and down, chosen by raw
 * router logit with a softmax over the chosen ones (softmax_weight), activated by the clamped
 * SwiGLU (swiglu_oai). Untied output.
 */
import { BASE_SPEC, type ArchSpec } from "./spec.js";

export const GPT_OSS: ArchSpec = {
  ...BASE_SPEC,
  name: "gpt-oss",
  ropeOrder: "neox",
  moe: true,
  moeGating: "softmax_weight",
  expertAct: "swiglu_oai",
  attnSinks: true,
  swaPattern: { n: 2, defaultWindow: 0 },
  ropeBaseSwaDefault: "global",
  ffnNorm: "post_attention_norm.weight",
};
