/**
 * ModelConfig: everything the forward pass needs, resolved once from GGUF metadata and the arch
 * spec (defaults filled, derived values computed), so the forward pass never reads metadata.
 */
import { ModelError } from "../../errors.js";
import { optNumber, optString, optBool, optArray, type Metadata } from "../../gguf/getters.js";
import type { ArchSpec, ExpertAct, GatingFunc, RopeOrder } from "./spec.js";

export interface RopeConfig {
  order: RopeOrder;
  /** Rotated dims per head (the rest pass through). */
  dim: number;
  base: number;
  /** 1/factor for linear and YaRN scaling; 1 when unscaled. */
  freqScale: number;
  /** YaRN: ramp mix weight (0 disables YaRN's extrapolation mix). */
  extFactor: number;
  /** Magnitude scale applied to cos/sin (YaRN attn factor, corrected as llama.cpp does). */
  attnFactor: number;
  betaFast: number;
  betaSlow: number;
  /** Context length the model was trained on before scaling (YaRN correction dims). */
  origCtx: number;
  /** YaRN log multiplier (DeepSeek mscale_all_dim); 0 when absent. */
  yarnLogMul: number;
}

export interface MoeConfig {
  nExperts: number;
  nUsed: number;
  /** Hidden size of each routed expert. */
  nFFExp: number;
  nShared: number;
  /** Hidden size of the shared expert (all shared experts fused into one tensor). */
  nFFShared: number;
  normTopK: boolean;
  gating: GatingFunc;
  /** Experts' gate activation (SwiGLU, or gpt-oss's clamped SwiGLU). */
  act: ExpertAct;
  /** Multiplier on the final routing weights (DeepSeek routed_scaling_factor). */
  weightsScale: number;
  /** Layers [0, leadingDense) use a dense FFN (DeepSeek first_k_dense_replace). */
  leadingDense: number;
  nGroups: number;
  nGroupsUsed: number;
}

/** Gated DeltaNet shapes (qwen35 `ssm.*` keys). */
export interface DeltaNetConfig {
  /** Conv kernel width (`ssm.conv_kernel`). */
  convWidth: number;
  nKHeads: number;
  nVHeads: number;
  headK: number;
  headV: number;
  /** Value head h reads key head h / (nV / nK) (qwen3next) instead of h % nK (qwen35). */
  groupedHeads: boolean;
}

export interface MlaConfig {
  qLoraRank: number;
  kvLoraRank: number;
  /** Per-head "nope" part of q/k (key_length - rope dim). */
  nopeDim: number;
  ropeDim: number;
  /** Per-head value size. */
  vDim: number;
}

export interface ModelConfig {
  arch: string;
  spec: ArchSpec;
  nLayers: number;
  nEmbd: number;
  nHead: number;
  nHeadKV: number;
  headDimK: number;
  headDimV: number;
  nFF: number;
  nVocab: number;
  contextLength: number;
  rmsEps: number;
  rope: RopeConfig;
  /** Softmax scale for q.k (default 1/sqrt(headDimK)). */
  attnScale: number;
  /** 0 = full attention. Applies to the layers `swaLayers` marks (every layer when it is absent). */
  slidingWindow: number;
  /** Per layer: local (sliding-window) or global; undefined = `slidingWindow` on every layer. */
  swaLayers: boolean[] | undefined;
  /** RoPE of the local layers when it differs from `rope` (gemma: another base). */
  ropeSwa: RopeConfig | undefined;
  /** cap * tanh(x / cap) on attention scores before the softmax and on the logits; 0 = off. */
  attnSoftcap: number;
  finalSoftcap: number;
  /** Token embeddings are multiplied by this (gemma: sqrtf(nEmbd)); 1 = unscaled. */
  embedScale: number;
  /** Per layer: a recurrent (short-convolution) layer; undefined = every layer is attention. */
  recurrentLayers: boolean[] | undefined;
  /** Short-convolution kernel width (`shortconv.l_cache`); 0 without such layers. */
  shortConvWidth: number;
  deltaNet: DeltaNetConfig | undefined;
  moe: MoeConfig | undefined;
  mla: MlaConfig | undefined;
}

function req(md: Metadata, key: string): number {
  const v = optNumber(md, key);
  if (v === undefined) throw new ModelError(`missing metadata key '${key}'`, { field: key });
  return v;
}

/**
 * Per-layer arrays (e.g. head_count_kv in some files): all layers must agree here. `skipZero`:
 * entries of 0 (recurrent layers of a hybrid) are left out.
 */
function uniform(md: Metadata, key: string, skipZero = false): number | undefined {
  const v = md.get(key);
  if (v === undefined) return undefined;
  if (typeof v === "number" || typeof v === "bigint") return optNumber(md, key);
  const arr = Array.from(optArray(md, key) as ArrayLike<number>, Number).filter((x) => !skipZero || x !== 0);
  if (arr.length === 0) return undefined;
  const first = arr[0];
  for (let i = 1; i < arr.length; i++) {
    if (arr[i] !== first) {
      throw new ModelError(`per-layer '${key}' values differ; per-layer shapes are not supported`, {
        field: key,
      });
    }
  }
  return first;
}

export function resolveConfig(md: Metadata, spec: ArchSpec, nVocabFromTensor: number): ModelConfig {
  const a = spec.name;
  const k = (s: string) => `${a}.${s}`;
  const nEmbd = req(md, k("embedding_length"));
  const nLayers = req(md, k("block_count"));
  const nHead = uniform(md, k("attention.head_count")) ?? 0;
  if (nHead <= 0)
    throw new ModelError(`'${k("attention.head_count")}' must be > 0`, { field: k("attention.head_count") });
  const recurrentLayers = spec.shortConv
    ? convLayers(md, k("attention.head_count_kv"), nLayers)
    : spec.deltaNet
      ? linearLayers(md, k, nLayers)
      : undefined;
  const nHeadKV = uniform(md, k("attention.head_count_kv"), spec.shortConv) ?? nHead;
  if (nHeadKV <= 0 || nHead % nHeadKV !== 0) {
    throw new ModelError(`head_count ${nHead} is not a multiple of head_count_kv ${nHeadKV}`, {
      field: k("attention.head_count_kv"),
    });
  }
  const headDimK = optNumber(md, k("attention.key_length")) ?? nEmbd / nHead;
  const headDimV = optNumber(md, k("attention.value_length")) ?? nEmbd / nHead;
  if (!Number.isInteger(headDimK) || !Number.isInteger(headDimV)) {
    throw new ModelError(`head size ${headDimK} is not an integer`, { field: k("attention.key_length") });
  }
  const nFF = uniform(md, k("feed_forward_length")) ?? 0;

  const ropeDimKey = optNumber(md, k("rope.dimension_count"));
  const mla = resolveMla(md, spec, k, headDimK, headDimV, ropeDimKey);
  const ropeDim = ropeDimKey ?? headDimK;
  const rope = resolveRope(md, spec, k, ropeDim);

  // llama.cpp applies its attention scale to the full q.k (MLA: nope + rope dims).
  // In float as llama.cpp computes it: 1.0f / sqrtf(float(n)).
  const scaleDim =
    spec.qScaleEmbdPerHeadAtLayers === nLayers
      ? Math.floor(nEmbd / nHead)
      : mla
        ? mla.nopeDim + mla.ropeDim
        : headDimK;
  const attnScale = optNumber(md, k("attention.scale")) ?? Math.fround(1 / Math.fround(Math.sqrt(scaleDim)));
  const swa = resolveSwa(md, spec, k, nLayers, rope);
  return {
    arch: a,
    spec,
    nLayers,
    nEmbd,
    nHead,
    nHeadKV,
    headDimK,
    headDimV,
    nFF,
    nVocab: optNumber(md, k("vocab_size")) ?? nVocabFromTensor,
    contextLength: optNumber(md, k("context_length")) ?? 2048,
    rmsEps: optNumber(md, k("attention.layer_norm_rms_epsilon")) ?? 1e-5,
    rope,
    attnScale: mla ? Math.fround(attnScale * mlaMscale(rope)) : attnScale,
    ...swa,
    attnSoftcap: optNumber(md, k("attn_logit_softcapping")) ?? spec.attnSoftcapDefault,
    finalSoftcap: optNumber(md, k("final_logit_softcapping")) ?? spec.finalSoftcapDefault,
    embedScale: spec.embedScale ? Math.fround(Math.sqrt(nEmbd)) : 1,
    recurrentLayers,
    shortConvWidth: spec.shortConv ? req(md, k("shortconv.l_cache")) : 0,
    deltaNet: spec.deltaNet ? resolveDeltaNet(md, k, spec.deltaNetGrouped) : undefined,
    moe: resolveMoe(md, spec, k, nFF),
    mla,
  };
}

/** qwen35: `attention.recurrent_layers` (bools), else every layer but each interval-th (default 4). */
function linearLayers(md: Metadata, k: (s: string) => string, nLayers: number): boolean[] {
  const key = k("attention.recurrent_layers");
  if (md.has(key)) {
    const arr = optArray(md, key) as ArrayLike<unknown>;
    if (arr.length < nLayers)
      throw new ModelError(`'${key}' has ${arr.length} entries for ${nLayers} layers`, { field: key });
    return Array.from({ length: nLayers }, (_, i) => Boolean(arr[i]));
  }
  const n = optNumber(md, k("full_attention_interval")) ?? 4;
  return Array.from({ length: nLayers }, (_, i) => (i + 1) % n !== 0);
}

function resolveDeltaNet(md: Metadata, k: (s: string) => string, groupedHeads: boolean): DeltaNetConfig {
  const nVHeads = req(md, k("ssm.time_step_rank"));
  const headV = req(md, k("ssm.inner_size")) / nVHeads;
  const headK = req(md, k("ssm.state_size"));
  const nKHeads = req(md, k("ssm.group_count"));
  if (!Number.isInteger(headV) || nVHeads % nKHeads !== 0)
    throw new ModelError(
      `ssm shapes: inner_size / time_step_rank = ${headV}, ${nVHeads} value heads over ${nKHeads} key heads`,
      { field: k("ssm.inner_size") },
    );
  return { convWidth: req(md, k("ssm.conv_kernel")), nKHeads, nVHeads, headK, headV, groupedHeads };
}

/** Hybrid layers: an entry of 0 in the per-layer `head_count_kv` array marks a recurrent layer. */
function convLayers(md: Metadata, key: string, nLayers: number): boolean[] {
  const v = md.get(key);
  if (v === undefined || typeof v === "number" || typeof v === "bigint")
    return new Array<boolean>(nLayers).fill(false);
  const arr = optArray(md, key) as ArrayLike<number>;
  if (arr.length !== nLayers)
    throw new ModelError(`'${key}' has ${arr.length} entries for ${nLayers} layers`, { field: key });
  return Array.from(arr, (x) => Number(x) === 0);
}

/**
 * Sliding-window layers. Without a spec pattern: the window (if any) on every layer. With one
 * (gemma): `attention.sliding_window_pattern` as a per-layer bool array, or as a number n (else
 * the spec's), marks layer l local when l % n < n - 1 (n = 0: every layer); local layers may use
 * another RoPE base (`rope.freq_base_swa`, else the spec's default).
 */
function resolveSwa(
  md: Metadata,
  spec: ArchSpec,
  k: (s: string) => string,
  nLayers: number,
  rope: RopeConfig,
): Pick<ModelConfig, "slidingWindow" | "swaLayers" | "ropeSwa"> {
  const window = optNumber(md, k("attention.sliding_window")) ?? spec.swaPattern?.defaultWindow ?? 0;
  if (!spec.swaPattern || window <= 0)
    return { slidingWindow: spec.swaPattern ? 0 : window, swaLayers: undefined, ropeSwa: undefined };
  const key = k("attention.sliding_window_pattern");
  const v = md.get(key);
  let swaLayers: boolean[];
  if (v !== undefined && typeof v !== "number" && typeof v !== "bigint") {
    const arr = optArray(md, key) as ArrayLike<unknown>;
    if (arr.length !== nLayers)
      throw new ModelError(`'${key}' has ${arr.length} entries for ${nLayers} layers`, { field: key });
    swaLayers = Array.from(arr, (x) => Boolean(x));
  } else {
    const n = optNumber(md, key) ?? spec.swaPattern.n;
    swaLayers = Array.from({ length: nLayers }, (_, l) => n === 0 || l % n < n - 1);
  }
  const baseSwa =
    optNumber(md, k("rope.freq_base_swa")) ??
    (spec.ropeBaseSwaDefault === "global" ? rope.base : spec.ropeBaseSwaDefault);
  // llama.cpp: local layers inherit the global frequency scale only where the family says they
  // share the global RoPE (gemma2); otherwise they are unscaled (gemma3's linear scaling is global-only).
  const scaleSwa = spec.ropeBaseSwaDefault === "global" ? rope.freqScale : 1;
  const same = baseSwa === rope.base && scaleSwa === rope.freqScale;
  return {
    slidingWindow: window,
    swaLayers,
    ropeSwa: same ? undefined : { ...rope, base: baseSwa, freqScale: scaleSwa },
  };
}

/** deepseek2 files store 0.1 * mscale_all_dim (convert script); llama.cpp divides it back out. */
function yarnLogMul(md: Metadata, spec: ArchSpec, k: (s: string) => string): number {
  const v = optNumber(md, k("rope.scaling.yarn_log_multiplier")) ?? 0;
  return spec.mla ? Math.fround(v / Math.fround(0.1)) : v;
}

function resolveRope(md: Metadata, spec: ArchSpec, k: (s: string) => string, dim: number): RopeConfig {
  const scalingType = optString(md, k("rope.scaling.type")) ?? "none";
  let factor = optNumber(md, k("rope.scaling.factor")) ?? 0;
  if (factor === 0) factor = optNumber(md, k("rope.scale_linear")) ?? 0;
  let freqScale = factor === 0 ? 1 : 1 / factor;
  if (scalingType === "none") freqScale = 1;
  if (scalingType !== "none" && scalingType !== "linear" && scalingType !== "yarn") {
    throw new ModelError(`rope scaling type '${scalingType}' is not supported`, {
      field: k("rope.scaling.type"),
    });
  }
  const f = Math.fround;
  const extFactor = optNumber(md, k("rope.scaling.yarn_ext_factor")) ?? (scalingType === "yarn" ? 1 : 0);
  let attnFactor = optNumber(md, k("rope.scaling.yarn_attn_factor")) ?? 1;
  if (extFactor !== 0) {
    // Same correction as llama.cpp's context setup: the kernel multiplies cos/sin by
    // 1 + 0.1 ln(factor) on its own, which is cancelled here, and the log multiplier (DeepSeek's
    // mscale_all_dim) moves into the attention scale instead (see mlaMscale).
    const fac = 1 / freqScale;
    const mscaleOf = (s: number, m: number) => (s <= 1 ? 1 : f(f(0.1 * m * Math.log(s)) + 1));
    const logMul = yarnLogMul(md, spec, k);
    if (logMul !== 0) {
      const mscale = spec.mla && logMul !== 1 ? logMul : 1;
      attnFactor = f(mscaleOf(fac, mscale) / mscaleOf(fac, logMul));
    } else {
      attnFactor = mscaleOf(fac, 1);
    }
    attnFactor = f(attnFactor * f(1 / f(1 + f(0.1 * Math.log(fac)))));
  }
  attnFactor = f(attnFactor * (optNumber(md, k("rope.scaling.attn_factor")) ?? 1));
  return {
    order: spec.ropeOrder,
    dim,
    base: optNumber(md, k("rope.freq_base")) ?? 10000,
    freqScale,
    extFactor,
    attnFactor,
    betaFast: optNumber(md, k("rope.scaling.yarn_beta_fast")) ?? 32,
    betaSlow: optNumber(md, k("rope.scaling.yarn_beta_slow")) ?? 1,
    origCtx:
      optNumber(md, k("rope.scaling.original_context_length")) ?? optNumber(md, k("context_length")) ?? 2048,
    yarnLogMul: yarnLogMul(md, spec, k),
  };
}

/**
 * DeepSeek-V2 attention scale factor (llama.cpp's deepseek2 graph): the YaRN magnitude correction
 * moves from cos/sin into the softmax scale, mscale^2 with
 * mscale = attnFactor * (1 + 0.1 ln(1/freqScale)) * (1 + 0.1 logMul ln(1/freqScale)).
 */
function mlaMscale(rope: RopeConfig): number {
  const f = Math.fround;
  const l = f(Math.log(f(1 / rope.freqScale)));
  const org = f(rope.attnFactor * f(1 + f(0.1 * l)));
  const m = f(org * f(1 + f(f(0.1 * rope.yarnLogMul) * l)));
  return f(m * m);
}

function resolveMoe(
  md: Metadata,
  spec: ArchSpec,
  k: (s: string) => string,
  nFF: number,
): MoeConfig | undefined {
  const nExperts = optNumber(md, k("expert_count")) ?? 0;
  if (nExperts === 0) return undefined;
  const nUsed = optNumber(md, k("expert_used_count")) ?? 0;
  if (nUsed <= 0 || nUsed > nExperts) {
    throw new ModelError(`expert_used_count ${nUsed} must be in 1..${nExperts}`, {
      field: k("expert_used_count"),
    });
  }
  const gf = optNumber(md, k("expert_gating_func"));
  const nShared = optNumber(md, k("expert_shared_count")) ?? 0;
  const nFFExp = optNumber(md, k("expert_feed_forward_length")) ?? nFF;
  return {
    nExperts,
    nUsed,
    nFFExp,
    nShared,
    nFFShared: optNumber(md, k("expert_shared_feed_forward_length")) ?? nFFExp * Math.max(1, nShared),
    normTopK: optBool(md, k("expert_weights_norm")) ?? spec.normTopKDefault,
    // llama.cpp: 1 = softmax, 2 = sigmoid; absent means softmax.
    gating: spec.moeGating ?? (gf === 2 ? "sigmoid" : "softmax"),
    act: spec.expertAct,
    weightsScale: optNumber(md, k("expert_weights_scale")) || 1,
    leadingDense: optNumber(md, k("leading_dense_block_count")) ?? 0,
    nGroups: optNumber(md, k("expert_group_count")) ?? 0,
    nGroupsUsed: optNumber(md, k("expert_group_used_count")) ?? 0,
  };
}

function resolveMla(
  md: Metadata,
  spec: ArchSpec,
  k: (s: string) => string,
  headDimK: number,
  headDimV: number,
  ropeDim: number | undefined,
): MlaConfig | undefined {
  if (!spec.mla) return undefined;
  const kvLoraRank = req(md, k("attention.kv_lora_rank"));
  const r = ropeDim ?? 0;
  if (r <= 0 || r >= headDimK)
    throw new ModelError(`MLA rope dim ${r} must be in 1..${headDimK - 1}`, {
      field: k("rope.dimension_count"),
    });
  return {
    qLoraRank: optNumber(md, k("attention.q_lora_rank")) ?? 0,
    kvLoraRank,
    nopeDim: (optNumber(md, k("attention.key_length_mla")) ?? headDimK) - r,
    ropeDim: r,
    vDim: optNumber(md, k("attention.value_length_mla")) ?? headDimV,
  };
}
