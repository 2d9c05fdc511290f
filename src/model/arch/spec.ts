/**
 * Architecture specs: each family is data (GGUF tensor names, feature flags), read by one generic
 * forward pass. A spec never holds code paths of its own; `registry.ts` maps
 * `general.architecture` to a spec and is the only place that switches on the name.
 */

/** RoPE pair ordering: NORMAL rotates (x[2i], x[2i+1]); NEOX rotates (x[i], x[i + dim/2]). */
export type RopeOrder = "normal" | "neox";

/** How the feed-forward block of a layer is built. */
export type FfnKind = "dense" | "moe";

/**
 * Expert gating function applied to router logits: softmax or sigmoid over all experts, or
 * "softmax_weight" (gpt-oss): experts chosen by raw logit, their weights a softmax over the
 * chosen logits only.
 */
export type GatingFunc = "softmax" | "sigmoid" | "softmax_weight";

/**
 * Activation of the MoE experts: SwiGLU, or gpt-oss's clamped variant
 * (x = min(gate, 7), y = clamp(up, -7, 7), out = x * sigmoid(1.702 x) * (y + 1)).
 */
export type ExpertAct = "silu" | "swiglu_oai";

/** Gate activation of the dense FFN: SwiGLU (silu(gate) * up) or GeGLU with tanh GELU (gemma). */
export type FfnAct = "silu" | "gelu";

/**
 * Which layers use the sliding window when the file has no per-layer array
 * (`<arch>.attention.sliding_window_pattern` as bools): with pattern n (the key as a number, else
 * `n`), layer l is local when l % n < n - 1 (the last of every n layers is global); n = 0: all local.
 */
export interface SwaPattern {
  n: number;
  /** Window when `attention.sliding_window` is absent (gemma2: 4096); 0 = no local layers then. */
  defaultWindow: number;
}

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
  /** Gating fixed by the family (metadata ignored, as llama.cpp does); undefined: `expert_gating_func`. */
  moeGating: GatingFunc | undefined;
  expertAct: ExpertAct;
  /**
   * Per-head attention sinks (`attn_sinks.weight` [nHead], gpt-oss): a logit joined to each
   * softmax with no value row, so a head may attend to "nothing".
   */
  attnSinks: boolean;
  /** Multi-head latent attention (deepseek2). */
  mla: boolean;
  /** q is multiplied by the attention scale after RoPE and q.k is not scaled again (phi3). */
  scaleQ: boolean;
  /** Token embeddings multiplied by sqrt(nEmbd) (gemma). */
  embedScale: boolean;
  /** RMSNorms on the attention and FFN outputs before their residual adds (`post_attention_norm`, `post_ffw_norm`). */
  postNorms: boolean;
  ffnAct: FfnAct;
  /**
   * Interleaved local/global layers (gemma2/3): the window `attention.sliding_window` applies to
   * the local layers only; absent: the window (if any) applies to every layer.
   */
  swaPattern: SwaPattern | undefined;
  /** RoPE base of local layers when `rope.freq_base_swa` is absent: a number, or the global base. */
  ropeBaseSwaDefault: number | "global";
  /**
   * Soft-capping cap * tanh(x / cap) of attention scores before the softmax (0 = off) and of the
   * final logits, used when `attn_logit_softcapping` / `final_logit_softcapping` are absent.
   */
  attnSoftcapDefault: number;
  finalSoftcapDefault: number;
  /**
   * The q scale is 1/sqrt(nEmbd / nHead) instead of 1/sqrt(head_dim) for models with this many
   * layers (gemma 27B's query_pre_attn_scalar, which llama.cpp keys on the layer count; 0 = never).
   */
  qScaleEmbdPerHeadAtLayers: number;
  /**
   * Hybrid with short-convolution layers (lfm2): layers whose `attention.head_count_kv` entry is 0
   * are gated depthwise causal convolutions (`shortconv.*`, width `shortconv.l_cache`).
   */
  shortConv: boolean;
  /**
   * Hybrid with Gated DeltaNet linear-attention layers (qwen35): `attention.recurrent_layers` or
   * every layer but each `full_attention_interval`-th is recurrent (`ssm.*` shapes).
   */
  deltaNet: boolean;
  /**
   * qwen3next's DeltaNet layout: value heads grouped under their key head (value head h reads key
   * head h / (nV / nK), not h % nK as qwen35), and beta/alpha fused in one `ssm_ba` product whose
   * rows per key head are [nV / nK betas; nV / nK alphas].
   */
  deltaNetGrouped: boolean;
  /** Attention q projection yields [q; gate] per head; the output is multiplied by sigmoid(gate) (qwen35). */
  gatedAttention: boolean;
  /** NoPE layers (smollm3: 4): layer l applies no RoPE when (l + 1) % n === 0; 0 = RoPE everywhere. */
  noRopeEvery: number;
  /** Name of the FFN input norm's weight (qwen35 files: `post_attention_norm.weight`). */
  ffnNorm: string;
  /** Name of the final norm's weight (lfm2 files call it `token_embd_norm.weight`). */
  outputNorm: string;
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
  moeGating: undefined,
  expertAct: "silu",
  attnSinks: false,
  mla: false,
  scaleQ: false,
  embedScale: false,
  postNorms: false,
  ffnAct: "silu",
  swaPattern: undefined,
  ropeBaseSwaDefault: "global",
  attnSoftcapDefault: 0,
  finalSoftcapDefault: 0,
  qScaleEmbdPerHeadAtLayers: 0,
  shortConv: false,
  deltaNet: false,
  deltaNetGrouped: false,
  noRopeEvery: 0,
  gatedAttention: false,
  ffnNorm: "ffn_norm.weight",
  outputNorm: "output_norm.weight",
};

/** GGUF tensor names, exactly as they appear in files. */
export const TENSOR = {
  tokenEmbd: "token_embd.weight",
  outputNorm: "output_norm.weight",
  output: "output.weight",
  ropeFreqs: "rope_freqs.weight",
  blk: (i: number, name: string) => `blk.${i}.${name}`,
} as const;
