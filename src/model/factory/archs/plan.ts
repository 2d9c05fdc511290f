/**
 * What an architecture builder returns: hparam keys and a list of planned tensors. Shared pieces
 * (attention projections, dense FFN, norms, llama-style hparams) live here so each architecture
 * file only states what differs.
 */
import { GGUFValueType, typed, type GGUFMetaValue, type GGUFTypedValue } from "../../../gguf/value.js";
import type { ResolvedSpec, TestModelSpec } from "../spec.js";

/**
 * How a tensor is filled and which type policy applies:
 * - weight: N(0, weightStd), type from policy.weights
 * - embd / output: N(0, weightStd), type from policy.tokenEmbd / policy.output
 * - norm: 1 + N(0, normStd), always F32 (ggml convention for 1-D tensors)
 * - bias: N(0, weightStd), always F32
 * - router: MoE gate_inp, N(0, weightStd), always F32 (llama.cpp never quantizes it)
 * - experts: stacked expert matrices, N(0, weightStd), type from policy.experts (default weights)
 */
export type TensorRole = "weight" | "embd" | "output" | "norm" | "bias" | "router" | "experts";

export interface TensorPlan {
  /** GGUF name, e.g. blk.0.attn_q.weight. */
  name: string;
  /** ggml order: dims[0] is the row length (input features for a matmul weight). */
  dims: number[];
  role: TensorRole;
}

export type HParams = Record<string, GGUFMetaValue | GGUFTypedValue>;

export interface FactoryArch {
  /** `{arch}.*` hparam keys llama.cpp requires for this architecture. */
  hparams(s: ResolvedSpec): HParams;
  /** All tensors in file order. */
  tensors(s: ResolvedSpec): TensorPlan[];
  /**
   * Family sections a shape-only spec (`edgellm testmodel --preset`) needs to build this family
   * (experts, MLA ranks, windows); a spec's own sections win.
   */
  shapeDefaults?(s: TestModelSpec): Partial<TestModelSpec>;
}

const u32 = (v: number) => typed(GGUFValueType.UINT32, v);
const f32 = (v: number) => typed(GGUFValueType.FLOAT32, v);

/** Hparams shared by llama-family decoders (llama-arch.cpp LLM_KV_* names, prefixed by arch). */
export function llamaLikeHParams(s: ResolvedSpec): HParams {
  const a = s.arch;
  const h: HParams = {
    [`${a}.vocab_size`]: u32(s.nVocab),
    [`${a}.context_length`]: u32(s.nCtx),
    [`${a}.embedding_length`]: u32(s.nEmbd),
    [`${a}.block_count`]: u32(s.nLayer),
    [`${a}.feed_forward_length`]: u32(s.nFf),
    [`${a}.attention.head_count`]: u32(s.nHead),
    [`${a}.attention.head_count_kv`]: u32(s.nHeadKv),
    [`${a}.rope.dimension_count`]: u32(s.headDim),
    [`${a}.rope.freq_base`]: f32(s.ropeFreqBase),
    [`${a}.attention.layer_norm_rms_epsilon`]: f32(s.rmsEps),
  };
  if (s.headDim * s.nHead !== s.nEmbd) {
    h[`${a}.attention.key_length`] = u32(s.headDim);
    h[`${a}.attention.value_length`] = u32(s.headDim);
  }
  return h;
}

/** token_embd [nEmbd, nVocab]. */
export function embeddingTensors(s: ResolvedSpec): TensorPlan[] {
  return [{ name: "token_embd.weight", dims: [s.nEmbd, s.nVocab], role: "embd" }];
}

/** output_norm [nEmbd] and, unless tied, output [nEmbd, nVocab]. */
export function outputTensors(s: ResolvedSpec): TensorPlan[] {
  const out: TensorPlan[] = [{ name: "output_norm.weight", dims: [s.nEmbd], role: "norm" }];
  if (!s.tiedEmbeddings) out.push({ name: "output.weight", dims: [s.nEmbd, s.nVocab], role: "output" });
  return out;
}

/** attn_norm + Q [nEmbd, nHead*hd], K/V [nEmbd, nHeadKv*hd], O [nHead*hd, nEmbd]. */
export function attentionTensors(s: ResolvedSpec, il: number, opts: { bias?: boolean } = {}): TensorPlan[] {
  const p = `blk.${il}`;
  const q = s.nHead * s.headDim;
  const kv = s.nHeadKv * s.headDim;
  const t: TensorPlan[] = [
    { name: `${p}.attn_norm.weight`, dims: [s.nEmbd], role: "norm" },
    { name: `${p}.attn_q.weight`, dims: [s.nEmbd, q], role: "weight" },
    { name: `${p}.attn_k.weight`, dims: [s.nEmbd, kv], role: "weight" },
    { name: `${p}.attn_v.weight`, dims: [s.nEmbd, kv], role: "weight" },
    { name: `${p}.attn_output.weight`, dims: [q, s.nEmbd], role: "weight" },
  ];
  if (opts.bias) {
    t.push(
      { name: `${p}.attn_q.bias`, dims: [q], role: "bias" },
      { name: `${p}.attn_k.bias`, dims: [kv], role: "bias" },
      { name: `${p}.attn_v.bias`, dims: [kv], role: "bias" },
    );
  }
  return t;
}

/** ffn_norm + SwiGLU FFN: gate/up [nEmbd, nFf], down [nFf, nEmbd]. */
export function denseFfnTensors(s: ResolvedSpec, il: number): TensorPlan[] {
  const p = `blk.${il}`;
  return [
    { name: `${p}.ffn_norm.weight`, dims: [s.nEmbd], role: "norm" },
    { name: `${p}.ffn_gate.weight`, dims: [s.nEmbd, s.nFf], role: "weight" },
    { name: `${p}.ffn_up.weight`, dims: [s.nEmbd, s.nFf], role: "weight" },
    { name: `${p}.ffn_down.weight`, dims: [s.nFf, s.nEmbd], role: "weight" },
  ];
}
