/**
 * qwen35 (Qwen3.5, dense): hybrid of Gated DeltaNet linear-attention layers and gated full
 * attention (every `full_attention_interval`-th layer, default 4).
 *  - linear layers: qkv = attn_qkv h through a depthwise causal conv (width ssm.conv_kernel, state
 *    in the sequence's RecurrentState) and SiLU; q, k L2-normalised per head; gate
 *    g = softplus(ssm_alpha h + ssm_dt) * ssm_a, beta = sigmoid(ssm_beta h); delta rule per value
 *    head (state decays by exp(g), corrected towards v by beta); out = RMSNorm(o) * ssm_norm *
 *    silu(attn_gate h), then ssm_out.
 *  - attention layers: attn_q gives [q; gate] per head, q/k RMSNorm, NEOX RoPE on the first
 *    rope.dimension_count dims (IMROPE in llama.cpp: equal to NEOX for text positions), output
 *    times sigmoid(gate).
 *  - FFN input norm is stored as `post_attention_norm`; SwiGLU FFN.
 * qwen35moe: the same layers with a MoE FFN: softmax top-k with the chosen weights renormalised,
 * plus a shared expert gated by sigmoid(ffn_gate_inp_shexp . x) (as qwen2moe).
 */
import { BASE_SPEC, type ArchSpec } from "./spec.js";

export const QWEN35: ArchSpec = {
  ...BASE_SPEC,
  name: "qwen35",
  ropeOrder: "neox",
  qkNorm: true,
  deltaNet: true,
  gatedAttention: true,
  ffnNorm: "post_attention_norm.weight",
};

export const QWEN35MOE: ArchSpec = {
  ...QWEN35,
  name: "qwen35moe",
  moe: true,
  sharedExpertGate: true,
  normTopKDefault: true,
};

/**
 * qwen3next (Qwen3-Next): the qwen35moe layers with its own DeltaNet layout (value heads grouped
 * under their key head, beta/alpha fused in `ssm_ba`); plain NEOX RoPE (no sections key).
 */
export const QWEN3NEXT: ArchSpec = {
  ...QWEN35MOE,
  name: "qwen3next",
  deltaNetGrouped: true,
};
