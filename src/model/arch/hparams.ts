/**
 * Architecture hyper-parameters read from GGUF metadata (`<arch>.*` keys), independent of any
 * particular family: the same key names are used by every llama.cpp architecture.
 * Family-specific specs (src/model/arch/<family>.ts) refine these; this module only reads keys.
 */
import type { Metadata } from "../../gguf/getters.js";

export interface HParams {
  arch: string;
  nLayers: number;
  nEmbd: number;
  nFF: number | undefined;
  nHead: number;
  /** KV heads (GQA/MQA); equals nHead for plain multi-head attention. */
  nHeadKV: number;
  /** Per-head key and value sizes (default nEmbd / nHead). */
  headDimK: number;
  headDimV: number;
  contextLength: number | undefined;
  ropeDim: number | undefined;
  ropeFreqBase: number | undefined;
  rmsEps: number | undefined;
  slidingWindow: number | undefined;
  nExperts: number;
  nExpertsUsed: number;
  nSharedExperts: number;
  /** MLA (DeepSeek-V2): rank of the compressed KV latent; 0 when absent. */
  kvLoraRank: number;
  qLoraRank: number;
  vocabSize: number | undefined;
  /** Layers with K/V rows: all, less those whose per-layer head_count_kv is 0 (recurrent layers of a hybrid). */
  kvLayers: number;
}

/** Layers whose entry in a per-layer `head_count_kv` array is non-zero (all layers for a scalar). */
function countKVLayers(md: Metadata, key: string, nLayers: number): number {
  const v = md.get(key);
  if (!ArrayBuffer.isView(v) || v instanceof DataView) return nLayers;
  const arr = v as unknown as ArrayLike<number | bigint>;
  let n = 0;
  for (let i = 0; i < arr.length; i++) if (Number(arr[i]) !== 0) n++;
  return n;
}

function num(md: Metadata, key: string): number | undefined {
  const v = md.get(key);
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  // Some per-layer keys are arrays (e.g. head_count_kv in hybrid models): take the maximum.
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const arr = v as unknown as ArrayLike<number | bigint>;
    let m = -Infinity;
    for (let i = 0; i < arr.length; i++) m = Math.max(m, Number(arr[i]));
    return Number.isFinite(m) ? m : undefined;
  }
  return undefined;
}

export function readHParams(md: Metadata): HParams {
  const archV = md.get("general.architecture");
  const arch = typeof archV === "string" ? archV : "unknown";
  const k = (s: string) => num(md, `${arch}.${s}`);
  const nEmbd = k("embedding_length") ?? 0;
  const nHead = k("attention.head_count") ?? 0;
  const nHeadKV = k("attention.head_count_kv") ?? nHead;
  const kvLoraRank = k("attention.kv_lora_rank") ?? 0;
  const defaultHead = nHead > 0 ? Math.floor(nEmbd / nHead) : 0;
  const tokens = md.get("tokenizer.ggml.tokens");
  return {
    arch,
    nLayers: k("block_count") ?? 0,
    nEmbd,
    nFF: k("feed_forward_length"),
    nHead,
    nHeadKV,
    headDimK: k("attention.key_length") ?? defaultHead,
    headDimV: k("attention.value_length") ?? defaultHead,
    contextLength: k("context_length"),
    ropeDim: k("rope.dimension_count"),
    ropeFreqBase: k("rope.freq_base"),
    rmsEps: k("attention.layer_norm_rms_epsilon"),
    slidingWindow: k("attention.sliding_window"),
    nExperts: k("expert_count") ?? 0,
    nExpertsUsed: k("expert_used_count") ?? 0,
    nSharedExperts: k("expert_shared_count") ?? 0,
    kvLoraRank,
    qLoraRank: k("attention.q_lora_rank") ?? 0,
    vocabSize: k("vocab_size") ?? (Array.isArray(tokens) ? tokens.length : undefined),
    kvLayers: countKVLayers(md, `${arch}.attention.head_count_kv`, k("block_count") ?? 0),
  };
}

/**
 * KV-cache elements per token (K and V together, all layers).
 * Standard attention: layers x kv_heads x (head_dim_k + head_dim_v).
 * MLA caches only the compressed latent and the decoupled rope key: layers x (kv_lora_rank + rope_dim).
 */
export function kvElementsPerToken(h: HParams): number {
  if (h.kvLoraRank > 0) {
    const ropeDim = h.ropeDim ?? 0;
    return h.nLayers * (h.kvLoraRank + ropeDim);
  }
  return h.kvLayers * h.nHeadKV * (h.headDimK + h.headDimV);
}
