/**
 * phi3 test models in llama.cpp's layout: attn_qkv [nEmbd, (nHead + 2 nHeadKv) * headDim] (rows
 * q, then k, then v), attn_output, ffn_up [nEmbd, 2 * nFf] (rows gate, then up), ffn_down.
 */
import {
  embeddingTensors,
  llamaLikeHParams,
  outputTensors,
  type FactoryArch,
  type HParams,
  type TensorPlan,
} from "./plan.js";
import type { ResolvedSpec } from "../spec.js";

export const phi3: FactoryArch = {
  hparams(s: ResolvedSpec): HParams {
    return llamaLikeHParams(s);
  },
  tensors(s: ResolvedSpec): TensorPlan[] {
    const t = embeddingTensors(s);
    const q = s.nHead * s.headDim;
    const kv = s.nHeadKv * s.headDim;
    for (let il = 0; il < s.nLayer; il++) {
      const p = `blk.${il}`;
      t.push(
        { name: `${p}.attn_norm.weight`, dims: [s.nEmbd], role: "norm" },
        { name: `${p}.attn_qkv.weight`, dims: [s.nEmbd, q + 2 * kv], role: "weight" },
        { name: `${p}.attn_output.weight`, dims: [q, s.nEmbd], role: "weight" },
        { name: `${p}.ffn_norm.weight`, dims: [s.nEmbd], role: "norm" },
        { name: `${p}.ffn_up.weight`, dims: [s.nEmbd, 2 * s.nFf], role: "weight" },
        { name: `${p}.ffn_down.weight`, dims: [s.nFf, s.nEmbd], role: "weight" },
      );
    }
    t.push(...outputTensors(s));
    return t;
  },
};
