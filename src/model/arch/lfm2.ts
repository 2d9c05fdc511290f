/**
 * lfm2 (Liquid LFM2): a hybrid of gated short-convolution layers and GQA attention layers, chosen
 * per layer by `attention.head_count_kv` (0 = convolution). Convolution layer:
 *   [b; c; x] = in_proj h, y = c * conv_causal(b * x), out = out_proj y
 * with a depthwise kernel of width `shortconv.l_cache` whose last width - 1 inputs are the
 * sequence's recurrent state. Attention layers: per-head q/k RMSNorm, NEOX RoPE. SwiGLU FFN on
 * every layer; the final norm is stored as `token_embd_norm.weight`; tied output unless
 * `output.weight` is present.
 */
import { BASE_SPEC, type ArchSpec } from "./spec.js";

export const LFM2: ArchSpec = {
  ...BASE_SPEC,
  name: "lfm2",
  ropeOrder: "neox",
  qkNorm: true,
  shortConv: true,
  outputNorm: "token_embd_norm.weight",
};
