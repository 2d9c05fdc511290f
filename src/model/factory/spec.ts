/**
 * The test-model spec: one shape description for every architecture. Architecture-specific
 * sections (moe, ...) are optional and read only by the arch builders that need them; adding an
 * architecture means adding a builder in archs/ and registering it, not changing this type's users.
 */
import { GGMLType } from "../../gguf/types.js";
import type { GGUFMetaValue, GGUFTypedValue } from "../../gguf/value.js";
import type { VocabMetadata } from "./vocab.js";

export interface TensorTypePolicy {
  /** Type of 2-D weight matrices (attn_q, ffn_up, ...). Default F32. */
  weights?: GGMLType;
  /** token_embd.weight; default = weights. */
  tokenEmbd?: GGMLType;
  /** output.weight; default = weights. */
  output?: GGMLType;
  /** Stacked expert matrices of builders that mark them (gpt-oss: MXFP4 in released files); default = weights. */
  experts?: GGMLType;
  /** Exact tensor name -> type, applied last (1-D tensors included, at your own risk). */
  overrides?: Record<string, GGMLType>;
}

export interface MoESpec {
  /** Experts per layer (`{arch}.expert_count`). */
  nExpert: number;
  /** Experts used per token (`{arch}.expert_used_count`). */
  nExpertUsed: number;
  /**
   * Hidden size of one expert's FFN, for architectures with `{arch}.expert_feed_forward_length`
   * (qwen3moe, deepseek2...); default = spec.nFf. llama requires it to equal nFf.
   */
  nFfExp?: number;
  /** Shared experts (`{arch}.expert_shared_count`; qwen2moe: one gated shared expert). Default 0. */
  nShared?: number;
  /** Hidden size of the (fused) shared expert; default nFfExp * max(1, nShared). */
  nFfShared?: number;
  /** deepseek2: dense FFN layers before the MoE ones (`leading_dense_block_count`). */
  leadingDense?: number;
  /** deepseek2: 1 = softmax, 2 = sigmoid (`expert_gating_func`). */
  gatingFunc?: 1 | 2;
  /** deepseek2: renormalise top-k weights, routed scaling factor, selection bias, expert groups. */
  weightsNorm?: boolean;
  weightsScale?: number;
  probsBias?: boolean;
  nGroup?: number;
  nGroupUsed?: number;
  /**
   * Skewed router: expert e's router row is scaled by 1 + routerSkew / (1 + e), so the first experts
   * are chosen far more often than the last (hot and cold experts). Default 0 (all alike).
   */
  routerSkew?: number;
}

/** deepseek2 multi-head latent attention shape. */
export interface MLASpec {
  /** 0 = plain attn_q (V2-Lite style). */
  qLoraRank: number;
  kvLoraRank: number;
  /** Per-head q/k dims without / with rotary embedding, and value dim. */
  nopeDim: number;
  ropeDim: number;
  vDim: number;
}

/** Interleaved sliding-window (local) and global layers (gemma2/3). */
export interface SwaSpec {
  /** `{arch}.attention.sliding_window`. */
  window: number;
  /** `{arch}.attention.sliding_window_pattern`: a number n or one bool per layer; absent: the family's default. */
  pattern?: number | boolean[];
  /** `{arch}.rope.freq_base_swa` (RoPE base of local layers); absent: the family's default. */
  ropeFreqBaseSwa?: number;
}

/** lfm2 hybrid: which layers are attention (the rest are gated short convolutions) and the kernel width. */
export interface ShortConvSpec {
  /** `{arch}.shortconv.l_cache`: kernel width (state = width - 1 inputs). */
  width: number;
  attentionLayers: number[];
}

/** qwen35 Gated DeltaNet layers (`ssm.*` keys) and the attention interval. */
export interface DeltaNetSpec {
  convWidth: number;
  nKHeads: number;
  nVHeads: number;
  headK: number;
  headV: number;
  /** `full_attention_interval`: every n-th layer is attention. */
  interval: number;
  /** Rotated dims per attention head (`rope.dimension_count`); default headDim. */
  ropeDim?: number;
}

/** Soft-capping caps (gemma2/3): `{arch}.attn_logit_softcapping`, `{arch}.final_logit_softcapping`. */
export interface SoftcapSpec {
  attn?: number;
  final?: number;
}

export interface TestModelSpec {
  /** `general.architecture`, and the key into FACTORY_ARCHS. */
  arch: string;
  name?: string;
  /** PRNG seed; same spec + seed -> byte-identical file. Default 1. */
  seed?: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  /** Default nHead (MHA); smaller for GQA/MQA. */
  nHeadKv?: number;
  /** Per-head size; default nEmbd / nHead. */
  headDim?: number;
  nFf: number;
  /** Default 2048. */
  nCtx?: number;
  /** Default 10000. */
  ropeFreqBase?: number;
  /** Default 1e-5. */
  rmsEps?: number;
  /** Token count; default the vocab's size. With the built-in vocab, pads or truncates it. */
  nVocab?: number;
  /** No output.weight: logits use token_embd (tied embeddings). */
  tiedEmbeddings?: boolean;
  types?: TensorTypePolicy;
  /** `tokenizer.ggml.*` keys written as-is; default: the built-in SentencePiece-style vocab. */
  vocab?: VocabMetadata;
  /** Extra keys, written after (and overriding) the generated ones. */
  metadata?: Record<string, GGUFMetaValue | GGUFTypedValue>;
  /** Weight std-dev; default 0.02. Norm weights are 1 + N(0, normStd), normStd default 0.1. */
  weightStd?: number;
  normStd?: number;
  /**
   * Write Q4_K / Q6_K / Q8_0 / Q4_0 matrices as random valid blocks spread by about weightStd
   * (random-blocks.ts) instead of drawing floats and quantizing them: multi-GB models in minutes.
   */
  randomBlocks?: boolean;
  moe?: MoESpec;
  mla?: MLASpec;
  swa?: SwaSpec;
  softcap?: SoftcapSpec;
  shortConv?: ShortConvSpec;
  deltaNet?: DeltaNetSpec;
}

/** The spec with defaults filled in; what arch builders see. */
export interface ResolvedSpec extends Required<
  Omit<
    TestModelSpec,
    "name" | "metadata" | "moe" | "mla" | "swa" | "softcap" | "shortConv" | "deltaNet" | "types" | "vocab"
  >
> {
  name: string;
  metadata: Record<string, GGUFMetaValue | GGUFTypedValue>;
  moe?: MoESpec;
  mla?: MLASpec;
  swa?: SwaSpec;
  softcap?: SoftcapSpec;
  shortConv?: ShortConvSpec;
  deltaNet?: DeltaNetSpec;
  types: Required<Omit<TensorTypePolicy, "overrides">> & { overrides: Record<string, GGMLType> };
  vocab: VocabMetadata;
}

export function resolveSpec(spec: TestModelSpec, vocab: VocabMetadata, nVocab: number): ResolvedSpec {
  const weights = spec.types?.weights ?? GGMLType.F32;
  return {
    arch: spec.arch,
    name: spec.name ?? `test-${spec.arch}`,
    seed: spec.seed ?? 1,
    nEmbd: spec.nEmbd,
    nLayer: spec.nLayer,
    nHead: spec.nHead,
    nHeadKv: spec.nHeadKv ?? spec.nHead,
    headDim: spec.headDim ?? spec.nEmbd / spec.nHead,
    nFf: spec.nFf,
    nCtx: spec.nCtx ?? 2048,
    ropeFreqBase: spec.ropeFreqBase ?? 10000,
    rmsEps: spec.rmsEps ?? 1e-5,
    nVocab,
    tiedEmbeddings: spec.tiedEmbeddings ?? false,
    weightStd: spec.weightStd ?? 0.02,
    normStd: spec.normStd ?? 0.1,
    randomBlocks: spec.randomBlocks ?? false,
    metadata: spec.metadata ?? {},
    moe: spec.moe,
    mla: spec.mla,
    swa: spec.swa,
    softcap: spec.softcap,
    shortConv: spec.shortConv,
    deltaNet: spec.deltaNet,
    types: {
      weights,
      tokenEmbd: spec.types?.tokenEmbd ?? weights,
      output: spec.types?.output ?? weights,
      experts: spec.types?.experts ?? weights,
      overrides: spec.types?.overrides ?? {},
    },
    vocab,
  };
}
