/** llama: RMSNorm, RoPE, GQA attention without biases, SwiGLU FFN (optionally MoE: Mixtral layout). */
import { ModelError } from "../../../errors.js";
import { GGUFValueType, typed } from "../../../gguf/value.js";
import {
  attentionTensors,
  denseFfnTensors,
  embeddingTensors,
  llamaLikeHParams,
  outputTensors,
  type FactoryArch,
  type HParams,
  type TensorPlan,
} from "./plan.js";
import type { ResolvedSpec } from "../spec.js";

/**
 * MoE FFN (llama.cpp merged-experts layout): gate_inp [nEmbd, nExpert], gate/up_exps
 * [nEmbd, ff, nExpert], down_exps [ff, nEmbd, nExpert]; `ff` is one expert's hidden size.
 */
export function moeFfnTensors(s: ResolvedSpec, il: number, ff: number): TensorPlan[] {
  const m = s.moe!;
  const p = `blk.${il}`;
  return [
    { name: `${p}.ffn_norm.weight`, dims: [s.nEmbd], role: "norm" },
    { name: `${p}.ffn_gate_inp.weight`, dims: [s.nEmbd, m.nExpert], role: "router" },
    { name: `${p}.ffn_gate_exps.weight`, dims: [s.nEmbd, ff, m.nExpert], role: "weight" },
    { name: `${p}.ffn_up_exps.weight`, dims: [s.nEmbd, ff, m.nExpert], role: "weight" },
    { name: `${p}.ffn_down_exps.weight`, dims: [ff, s.nEmbd, m.nExpert], role: "weight" },
  ];
}

export const llama: FactoryArch = {
  hparams(s: ResolvedSpec): HParams {
    const h = llamaLikeHParams(s);
    if (s.moe) {
      h[`${s.arch}.expert_count`] = typed(GGUFValueType.UINT32, s.moe.nExpert);
      h[`${s.arch}.expert_used_count`] = typed(GGUFValueType.UINT32, s.moe.nExpertUsed);
    }
    // llama (Mixtral layout) has no expert_feed_forward_length: experts use feed_forward_length.
    if (s.moe?.nFfExp !== undefined && s.moe.nFfExp !== s.nFf) {
      throw new ModelError(
        `llama MoE experts use feed_forward_length: nFfExp ${s.moe.nFfExp} must equal nFf ${s.nFf}`,
        {
          field: "moe.nFfExp",
        },
      );
    }
    return h;
  },
  tensors(s: ResolvedSpec): TensorPlan[] {
    const t = embeddingTensors(s);
    for (let il = 0; il < s.nLayer; il++) {
      t.push(...attentionTensors(s, il));
      t.push(...(s.moe ? moeFfnTensors(s, il, s.nFf) : denseFfnTensors(s, il)));
    }
    t.push(...outputTensors(s));
    return t;
  },
};
