/**
 * phi3 (Phi-3 / Phi-3.5 mini and medium): llama block with one fused `attn_qkv` [q; k; v] weight
 * and one fused `ffn_up` holding [gate; up] (SwiGLU on its two halves), NEOX RoPE, and q scaled by
 * 1/sqrt(head_dim) after RoPE instead of scaling q.k (same value, different float rounding).
 */
import { BASE_SPEC, type ArchSpec } from "./spec.js";

export const PHI3: ArchSpec = {
  ...BASE_SPEC,
  name: "phi3",
  ropeOrder: "neox",
  fusedQKV: true,
  fusedGateUp: true,
  scaleQ: true,
};
