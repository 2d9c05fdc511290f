/**
 * Architecture specs: each family is data (GGUF tensor names, feature flags), read by one generic
 * forward pass. A spec never holds code paths of its own; `registry.ts` maps
 * `general.architecture` to a spec and is the only place that switches on the name.
 */

/** RoPE pair ordering: NORMAL rotates (x[2i], x[2i+1]); NEOX rotates (x[i], x[i + dim/2]). */
export type RopeOrder = "normal" | "neox";

/** How the feed-forward block of a layer is built. */
export type FfnKind = "dense" | "moe";

/** Expert gating function applied to router logits. */
export type GatingFunc = "softmax" | "sigmoid";

export interface ArchSpec {
  /** `general.architecture` value. */
  name: string;
  ropeOrder: RopeOrder;
  /** q/k/v projection biases (qwen2: present; llama: optional, bound when in the file). */
  qkvBias: "required" | "optional";
  /** Per-head RMSNorm on q and k before RoPE (qwen3). */
  qkNorm: boolean;
  /** One fused `attn_qkv` weight instead of attn_q/attn_k/attn_v (phi3). */
  fusedQKV: boolean;
  /** One fused `ffn_up` weight holding [gate; up] (phi3). */
  fusedGateUp: boolean;
  /** The MoE family: expert tensors (ffn_*_exps) replace the dense FFN in each layer. */
  moe: boolean;
  /** Shared expert with a sigmoid gate (qwen2moe: `ffn_gate_inp_shexp`). */
  sharedExpertGate: boolean;
  /** Renormalise the selected top-k routing weights to sum to 1 (when metadata does not say). */
  normTopKDefault: boolean;
  /** Multi-head latent attention (deepseek2). */
  mla: boolean;
  /** q is multiplied by the attention scale after RoPE and q.k is not scaled again (phi3). */
  scaleQ: boolean;
}

/** A spec with every flag off: families override what they need. */
export const BASE_SPEC: Omit<ArchSpec, "name" | "ropeOrder"> = {
  qkvBias: "optional",
  qkNorm: false,
  fusedQKV: false,
  fusedGateUp: false,
  moe: false,
  sharedExpertGate: false,
  normTopKDefault: false,
  mla: false,
  scaleQ: false,
};

/** GGUF tensor names, exactly as they appear in files. */
export const TENSOR = {
  tokenEmbd: "token_embd.weight",
  outputNorm: "output_norm.weight",
  output: "output.weight",
  ropeFreqs: "rope_freqs.weight",
  blk: (i: number, name: string) => `blk.${i}.${name}`,
} as const;
