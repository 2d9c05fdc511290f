/** qwen3: no q/k/v biases; per-head RMSNorm on q and k (`attn_q_norm`, `attn_k_norm`) before NEOX RoPE. */
import { BASE_SPEC, type ArchSpec } from "./spec.js";

export const QWEN3: ArchSpec = { ...BASE_SPEC, name: "qwen3", ropeOrder: "neox", qkNorm: true };
