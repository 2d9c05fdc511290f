/**
 * deepseek2 (DeepSeek-V2, V2-Lite, V3 shape): multi-head latent attention (q LoRA when
 * attention.q_lora_rank > 0, else a plain attn_q), NORMAL RoPE on the decoupled rope dims, YaRN
 * from metadata; DeepSeekMoE with always-on shared experts after `leading_dense_block_count` dense
 * layers; gating function, top-k renormalisation, routed scaling factor and expert groups all come
 * from metadata (expert_gating_func, expert_weights_norm, expert_weights_scale, expert_group_*).
 */
import { BASE_SPEC, type ArchSpec } from "./spec.js";

export const DEEPSEEK2: ArchSpec = {
  ...BASE_SPEC,
  name: "deepseek2",
  ropeOrder: "normal",
  moe: true,
  mla: true,
};
