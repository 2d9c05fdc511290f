/**
 * Which type each tensor of a model gets when the model is quantized to a target type: the
 * choices llama.cpp's quantizer makes, in short. Norms, biases and other 1-D tensors stay F32;
 * the MoE router stays F32; rows that are not a multiple of the block size fall back to a type
 * whose block fits; with K-quant targets the output projection gets Q6_K (as in Q4_K_M).
 */
import { GGMLType, ggmlTypeTraits } from "../gguf/types.js";

export interface TensorShape {
  name: string;
  dims: number[];
}

const KQUANTS = new Set([GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]);

/** Fallbacks tried in order when the target's block does not divide the row length. */
const FALLBACKS = [GGMLType.Q8_0, GGMLType.F16, GGMLType.F32];

/**
 * A quantization target as the CLI names it: a ggml type, or "q4_k_m" / "q5_k_m": the K-quant
 * with Q6_K for `ffn_down` as well as `output` (the heavier tensors of llama.cpp's _M mixes; its
 * own mix gives Q6_K to half of the ffn_down layers and to attn_v, which this one keeps simple).
 */
export interface QuantTarget {
  type: GGMLType;
  /** Q6_K for every ffn_down (the "_M" mixes) */
  q6Down: boolean;
}

export function parseQuantTarget(
  name: string,
  fromName: (n: string) => GGMLType | undefined,
): QuantTarget | undefined {
  const m = /^(q4_k|q5_k)_m$/i.exec(name);
  const type = fromName(m ? m[1]! : name);
  return type === undefined ? undefined : { type, q6Down: m !== null };
}

export function chooseTensorType(t: TensorShape, target: GGMLType, q6Down = false): GGMLType {
  if (t.dims.length < 2 || t.name.includes("_norm") || t.name.endsWith("ffn_gate_inp.weight")) {
    return GGMLType.F32;
  }
  let want = target;
  if (KQUANTS.has(target) && target !== GGMLType.Q6_K && t.name === "output.weight") want = GGMLType.Q6_K;
  if (q6Down && /\.ffn_down\.weight$/.test(t.name)) want = GGMLType.Q6_K;
  for (const ty of [want, ...FALLBACKS]) {
    if (t.dims[0] % ggmlTypeTraits(ty).blockSize === 0) return ty;
  }
  return GGMLType.F32;
}

/** llama.cpp `general.file_type` (enum llama_ftype) for a whole-model target type. */
export const LLAMA_FTYPE: ReadonlyMap<GGMLType, number> = new Map([
  [GGMLType.F32, 0],
  [GGMLType.F16, 1],
  [GGMLType.Q4_0, 2],
  [GGMLType.Q4_1, 3],
  [GGMLType.Q8_0, 7],
  [GGMLType.Q5_0, 8],
  [GGMLType.Q5_1, 9],
  [GGMLType.Q2_K, 10],
  [GGMLType.Q3_K, 12], // Q3_K_M
  [GGMLType.Q4_K, 15], // Q4_K_M
  [GGMLType.Q5_K, 17], // Q5_K_M
  [GGMLType.Q6_K, 18],
  [GGMLType.BF16, 32],
]);
