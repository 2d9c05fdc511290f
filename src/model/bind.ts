/**
 * Binds every tensor the forward pass needs, per layer, by GGUF name, with shapes checked against
 * the config. Which tensors exist is decided by the spec flags (and, for optional biases and
 * per-layer dense/MoE choice, by presence in the file); nothing here switches on the arch name.
 */
import { ModelError } from "../errors.js";
import type { ModelConfig } from "./arch/config.js";
import { TENSOR } from "./arch/spec.js";
import type { FfnWeights } from "./blocks/ffn.js";
import { prepareInto, type WeightBinder, type Weight } from "./weights.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import type { ExpertSource } from "./expert-cache.js";

export interface AttnWeights {
  /** Separate projections, or one fused [q; k; v] matrix. */
  wq: Weight | undefined;
  wk: Weight | undefined;
  wv: Weight | undefined;
  wqkv: Weight | undefined;
  wo: Weight;
  bq: Float32Array | undefined;
  bk: Float32Array | undefined;
  bv: Float32Array | undefined;
  /** Output projection bias [nEmbd] (gpt-oss; bound when in the file). */
  bo: Float32Array | undefined;
  /** Per-head attention sink logits [nHead] (gpt-oss). */
  sinks: Float32Array | undefined;
  /** Per-head RMSNorm weights [headDimK] (qwen3). */
  qNorm: Float32Array | undefined;
  kNorm: Float32Array | undefined;
}

export interface MlaWeights {
  /** q LoRA: wqA [nEmbd -> qLoraRank], qANorm, wqB [qLoraRank -> nHead*(nope+rope)]; or plain wq. */
  wq: Weight | undefined;
  wqA: Weight | undefined;
  qANorm: Float32Array | undefined;
  wqB: Weight | undefined;
  /** [nEmbd -> kvLoraRank + ropeDim]: the latent and the shared rope key. */
  wkvAMqa: Weight;
  kvANorm: Float32Array;
  /** Absorbed per-head key up-projection: wkB [nHead][kvLoraRank x nope] (ggml: [nope, kvLoraRank, nHead]). */
  wkB: Weight;
  /** Per-head value up-projection: wvB [nHead][vDim x kvLoraRank]. */
  wvB: Weight;
  wo: Weight;
}

export interface MoeWeights {
  gateInp: Weight;
  /** Router bias [nExperts] (gpt-oss; bound when in the file). */
  gateInpBias: Float32Array | undefined;
  /** Per-expert biases (gpt-oss): gate/up [nExperts][nFFExp], down [nExperts][nEmbd]. */
  gateExpsBias: Float32Array | undefined;
  upExpsBias: Float32Array | undefined;
  downExpsBias: Float32Array | undefined;
  /** Stacked experts: [nEmbd -> nFFExp] x nExperts, down [nFFExp -> nEmbd] x nExperts. */
  gateExps: Weight;
  upExps: Weight;
  downExps: Weight;
  /** DeepSeek-V3 selection bias (added to scores for choosing experts only). */
  expProbsBias: Float32Array | undefined;
  shared: FfnWeights | undefined;
  /** qwen2moe: sigmoid gate on the shared expert output, [nEmbd -> 1]. */
  sharedGate: Weight | undefined;
  /**
   * Experts on demand (model/expert-cache.ts): the stacks above are placeholders without bytes and
   * each expert's matrices come from the cache, by this layer's index.
   */
  onDemand?: { cache: ExpertSource; layer: number };
}

/** Gated short convolution (lfm2). */
export interface ShortConvWeights {
  /** Depthwise causal kernel [channels = nEmbd][width] (ggml dims {width, nEmbd}). */
  kernel: Float32Array;
  /** [nEmbd -> 3 nEmbd]: rows of b, then c, then x. */
  inProj: Weight;
  outProj: Weight;
}

/** Gated DeltaNet linear attention (qwen35); shapes in config.deltaNet. */
export interface DeltaNetWeights {
  /** [nEmbd -> 2 nK headK + nV headV]: q, k, v before the conv. */
  wqkv: Weight;
  /** [nEmbd -> nV headV]: z of the gated output norm. */
  wz: Weight;
  /** Depthwise conv kernel [channels][width]. */
  conv: Float32Array;
  dtBias: Float32Array;
  /** -exp(A_log) per value head. */
  a: Float32Array;
  /** [nEmbd -> nV] each (qwen35); undefined when fused in `ba`. */
  beta: Weight | undefined;
  alpha: Weight | undefined;
  /** qwen3next: [nEmbd -> 2 nV], per key head [nV / nK betas; nV / nK alphas]. */
  ba: Weight | undefined;
  /** RMSNorm weight over headV. */
  norm: Float32Array;
  out: Weight;
}

export interface LayerWeights {
  attnNorm: Float32Array;
  deltaNet: DeltaNetWeights | undefined;
  /** Recurrent layers: the short convolution in place of attention. */
  conv: ShortConvWeights | undefined;
  attn: AttnWeights | undefined;
  mla: MlaWeights | undefined;
  /** RMSNorm on the attention output before the residual add (gemma `post_attention_norm`). */
  attnPostNorm: Float32Array | undefined;
  ffnNorm: Float32Array;
  /** RMSNorm on the FFN output before the residual add (gemma `post_ffw_norm`). */
  ffnPostNorm: Float32Array | undefined;
  ffn: FfnWeights | undefined;
  moe: MoeWeights | undefined;
}

export interface ModelWeights {
  tokenEmbd: Weight;
  outputNorm: Float32Array;
  /** Absent output.weight means tied embeddings. */
  output: Weight;
  ropeFreqs: Float32Array | undefined;
  layers: LayerWeights[];
}

export function bindWeights(b: WeightBinder, c: ModelConfig): ModelWeights {
  const E = c.nEmbd;
  const tokenEmbd = b.matrix(TENSOR.tokenEmbd, [E, c.nVocab]);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < c.nLayers; i++) {
    const n = (s: string) => TENSOR.blk(i, s);
    const isMoe = c.moe !== undefined && b.has(n("ffn_gate_inp.weight"));
    if (c.spec.moe && c.moe && i >= c.moe.leadingDense && !isMoe) {
      throw new ModelError(`layer ${i} has no 'ffn_gate_inp.weight' but the model is MoE`, {
        field: n("ffn_gate_inp.weight"),
      });
    }
    layers.push({
      attnNorm: b.vector(n("attn_norm.weight"), E),
      conv: c.spec.shortConv && c.recurrentLayers?.[i] ? bindShortConv(b, c, n) : undefined,
      deltaNet: c.deltaNet && c.recurrentLayers?.[i] ? bindDeltaNet(b, c, n) : undefined,
      attn: c.mla || c.recurrentLayers?.[i] ? undefined : bindAttn(b, c, n),
      mla: c.mla ? bindMla(b, c, n) : undefined,
      attnPostNorm: c.spec.postNorms ? b.vector(n("post_attention_norm.weight"), E) : undefined,
      ffnNorm: b.vector(n(c.spec.ffnNorm), E),
      ffnPostNorm: c.spec.postNorms ? b.vector(n("post_ffw_norm.weight"), E) : undefined,
      ffn: isMoe ? undefined : bindFfn(b, n, "", E, c.nFF, c.spec.fusedGateUp),
      moe: isMoe ? bindMoe(b, c, n) : undefined,
    });
  }
  return {
    tokenEmbd,
    outputNorm: b.vector(c.spec.outputNorm, E),
    output: b.optMatrix(TENSOR.output, [E, c.nVocab]) ?? tokenEmbd,
    ropeFreqs: b.optVector(TENSOR.ropeFreqs, c.rope.dim / 2),
    layers,
  };
}

function bindAttn(b: WeightBinder, c: ModelConfig, n: (s: string) => string): AttnWeights {
  const E = c.nEmbd;
  const qDim = c.nHead * c.headDimK;
  const kDim = c.nHeadKV * c.headDimK;
  const vDim = c.nHeadKV * c.headDimV;
  const vec = (s: string, len: number) =>
    c.spec.qkvBias === "required" ? b.vector(n(s), len) : b.optVector(n(s), len);
  const fused = c.spec.fusedQKV;
  return {
    // Gated attention (qwen35): [q; gate] rows per head.
    wq: fused ? undefined : b.matrix(n("attn_q.weight"), [E, c.spec.gatedAttention ? 2 * qDim : qDim]),
    wk: fused ? undefined : b.matrix(n("attn_k.weight"), [E, kDim]),
    wv: fused ? undefined : b.matrix(n("attn_v.weight"), [E, vDim]),
    wqkv: fused ? b.matrix(n("attn_qkv.weight"), [E, qDim + kDim + vDim]) : undefined,
    wo: b.matrix(n("attn_output.weight"), [c.nHead * c.headDimV, E]),
    bq: fused ? undefined : vec("attn_q.bias", qDim),
    bk: fused ? undefined : vec("attn_k.bias", kDim),
    bv: fused ? undefined : vec("attn_v.bias", vDim),
    bo: b.optVector(n("attn_output.bias"), E),
    sinks: c.spec.attnSinks ? b.vector(n("attn_sinks.weight"), c.nHead) : undefined,
    qNorm: c.spec.qkNorm ? b.vector(n("attn_q_norm.weight"), c.headDimK) : undefined,
    kNorm: c.spec.qkNorm ? b.vector(n("attn_k_norm.weight"), c.headDimK) : undefined,
  };
}

function bindDeltaNet(b: WeightBinder, c: ModelConfig, n: (s: string) => string): DeltaNetWeights {
  const d = c.deltaNet!;
  const E = c.nEmbd;
  const ch = 2 * d.nKHeads * d.headK + d.nVHeads * d.headV;
  return {
    wqkv: b.matrix(n("attn_qkv.weight"), [E, ch]),
    wz: b.matrix(n("attn_gate.weight"), [E, d.nVHeads * d.headV]),
    conv: b.floats(n("ssm_conv1d.weight"), [d.convWidth, ch]),
    dtBias: b.vector(n("ssm_dt.bias"), d.nVHeads),
    a: b.vector(n("ssm_a"), d.nVHeads),
    beta: c.spec.deltaNetGrouped ? undefined : b.matrix(n("ssm_beta.weight"), [E, d.nVHeads]),
    alpha: c.spec.deltaNetGrouped ? undefined : b.matrix(n("ssm_alpha.weight"), [E, d.nVHeads]),
    ba: c.spec.deltaNetGrouped ? b.matrix(n("ssm_ba.weight"), [E, 2 * d.nVHeads]) : undefined,
    norm: b.vector(n("ssm_norm.weight"), d.headV),
    out: b.matrix(n("ssm_out.weight"), [d.nVHeads * d.headV, E]),
  };
}

function bindShortConv(b: WeightBinder, c: ModelConfig, n: (s: string) => string): ShortConvWeights {
  const E = c.nEmbd;
  return {
    kernel: b.floats(n("shortconv.conv.weight"), [c.shortConvWidth, E]),
    inProj: b.matrix(n("shortconv.in_proj.weight"), [E, 3 * E]),
    outProj: b.matrix(n("shortconv.out_proj.weight"), [E, E]),
  };
}

function bindFfn(
  b: WeightBinder,
  n: (s: string) => string,
  suffix: string,
  E: number,
  nFF: number,
  fused: boolean,
): FfnWeights {
  if (fused) {
    return {
      gate: undefined,
      up: b.matrix(n(`ffn_up${suffix}.weight`), [E, 2 * nFF]),
      down: b.matrix(n(`ffn_down${suffix}.weight`), [nFF, E]),
      fused,
    };
  }
  return {
    gate: b.matrix(n(`ffn_gate${suffix}.weight`), [E, nFF]),
    up: b.matrix(n(`ffn_up${suffix}.weight`), [E, nFF]),
    down: b.matrix(n(`ffn_down${suffix}.weight`), [nFF, E]),
    fused,
  };
}

function bindMoe(b: WeightBinder, c: ModelConfig, n: (s: string) => string): MoeWeights {
  const m = c.moe!;
  const E = c.nEmbd;
  const hasShared = m.nShared > 0 || b.has(n("ffn_up_shexp.weight"));
  return {
    gateInp: b.matrix(n("ffn_gate_inp.weight"), [E, m.nExperts]),
    gateInpBias: b.optVector(n("ffn_gate_inp.bias"), m.nExperts),
    gateExpsBias: optFloats(b, n("ffn_gate_exps.bias"), [m.nFFExp, m.nExperts]),
    upExpsBias: optFloats(b, n("ffn_up_exps.bias"), [m.nFFExp, m.nExperts]),
    downExpsBias: optFloats(b, n("ffn_down_exps.bias"), [E, m.nExperts]),
    gateExps: b.matrix(n("ffn_gate_exps.weight"), [E, m.nFFExp, m.nExperts]),
    upExps: b.matrix(n("ffn_up_exps.weight"), [E, m.nFFExp, m.nExperts]),
    downExps: b.matrix(n("ffn_down_exps.weight"), [m.nFFExp, E, m.nExperts]),
    expProbsBias: b.optVector(n("exp_probs_b.bias"), m.nExperts),
    shared: hasShared ? bindFfn(b, n, "_shexp", E, m.nFFShared, false) : undefined,
    sharedGate: c.spec.sharedExpertGate ? b.matrix(n("ffn_gate_inp_shexp.weight"), [E, 1]) : undefined,
  };
}

function optFloats(b: WeightBinder, name: string, dims: number[]): Float32Array | undefined {
  return b.has(name) ? b.floats(name, dims) : undefined;
}

function bindMla(b: WeightBinder, c: ModelConfig, n: (s: string) => string): MlaWeights {
  const m = c.mla!;
  const E = c.nEmbd;
  const qHead = m.nopeDim + m.ropeDim;
  const lora = m.qLoraRank > 0;
  return {
    wq: lora ? undefined : b.matrix(n("attn_q.weight"), [E, c.nHead * qHead]),
    wqA: lora ? b.matrix(n("attn_q_a.weight"), [E, m.qLoraRank]) : undefined,
    qANorm: lora ? b.vector(n("attn_q_a_norm.weight"), m.qLoraRank) : undefined,
    wqB: lora ? b.matrix(n("attn_q_b.weight"), [m.qLoraRank, c.nHead * qHead]) : undefined,
    wkvAMqa: b.matrix(n("attn_kv_a_mqa.weight"), [E, m.kvLoraRank + m.ropeDim]),
    kvANorm: b.vector(n("attn_kv_a_norm.weight"), m.kvLoraRank),
    wkB: b.matrix(n("attn_k_b.weight"), [m.nopeDim, m.kvLoraRank, c.nHead]),
    wvB: b.matrix(n("attn_v_b.weight"), [m.kvLoraRank, m.vDim, c.nHead]),
    wo: b.matrix(n("attn_output.weight"), [c.nHead * m.vDim, E]),
  };
}

/**
 * Move every matrix the KernelSet supports into it (WASM: repacked into its memory) and drop our
 * copy of the bytes; stacked experts and MLA's per-head k_b/v_b become one handle per matrix.
 * token_embd keeps its bytes for row lookups unless it is also the (tied) output matrix, in which
 * case rows are decoded from the prepared copy. Loading with a KernelSet already did this tensor by
 * tensor (WeightBinder); this is for weights bound without one.
 */
export function attachKernels(
  w: ModelWeights,
  ks: KernelSet,
  /** The set (shard) each matrix goes to by name (placement.ts kernelsFor); default `ks`. */
  kernelsOf?: (name: string) => KernelSet,
  /** Matrices left in the file (experts on demand, streamed layers): placeholders, left alone. */
  deferred?: ReadonlySet<string>,
): { moved: number; bytes: number } {
  let moved = 0;
  let bytes = 0;
  const visit = (m: Weight | undefined) => {
    if (
      !m ||
      deferred?.has(m.name) ||
      !prepareInto(m, kernelsOf?.(m.name) ?? ks, m === w.tokenEmbd && m !== w.output)
    )
      return;
    for (const x of m.mats ?? [m]) {
      moved++;
      bytes += x.kernel!.pw.bytes;
    }
  };
  visit(w.output);
  for (const L of w.layers) {
    for (const m of [
      L.deltaNet?.wqkv,
      L.deltaNet?.wz,
      L.deltaNet?.beta,
      L.deltaNet?.alpha,
      L.deltaNet?.ba,
      L.deltaNet?.out,
      L.conv?.inProj,
      L.conv?.outProj,
      L.attn?.wq,
      L.attn?.wk,
      L.attn?.wv,
      L.attn?.wqkv,
      L.attn?.wo,
      L.ffn?.gate,
      L.ffn?.up,
      L.ffn?.down,
    ])
      visit(m);
    for (const m of [L.mla?.wq, L.mla?.wqA, L.mla?.wqB, L.mla?.wkvAMqa, L.mla?.wkB, L.mla?.wvB, L.mla?.wo])
      visit(m);
    const exps = L.moe?.onDemand ? [] : [L.moe?.gateExps, L.moe?.upExps, L.moe?.downExps];
    for (const m of [L.moe?.gateInp, ...exps, L.moe?.sharedGate]) visit(m);
    for (const m of [L.moe?.shared?.gate, L.moe?.shared?.up, L.moe?.shared?.down]) visit(m);
  }
  return { moved, bytes };
}
