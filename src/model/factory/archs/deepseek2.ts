/**
 * deepseek2 test models in llama.cpp's MLA layout: attn_q (or attn_q_a + attn_q_a_norm + attn_q_b),
 * attn_kv_a_mqa [nEmbd, kvLoraRank + rope], attn_kv_a_norm, attn_k_b [nope, kvLoraRank, nHead],
 * attn_v_b [kvLoraRank, vDim, nHead], attn_output; `leadingDense` dense layers, then DeepSeekMoE
 * (routed experts + always-on shared experts, optional exp_probs_b selection bias).
 * key_length/value_length describe the cached (absorbed) head: kvLoraRank + rope / kvLoraRank;
 * the *_mla keys give the real per-head q/k and v sizes.
 */
import { ModelError } from "../../../errors.js";
import { GGUFValueType, typed } from "../../../gguf/value.js";
import type { ResolvedSpec } from "../spec.js";
import { moeFfnTensors } from "./llama.js";
import {
  denseFfnTensors,
  embeddingTensors,
  llamaLikeHParams,
  outputTensors,
  type FactoryArch,
  type HParams,
  type TensorPlan,
} from "./plan.js";
import { nFfExp, nFfShared, sharedExpertTensors } from "./qwen.js";

const u32 = (v: number) => typed(GGUFValueType.UINT32, v);
const f32 = (v: number) => typed(GGUFValueType.FLOAT32, v);

function mlaOf(s: ResolvedSpec) {
  if (!s.mla || !s.moe)
    throw new ModelError("deepseek2 test models need both `mla` and `moe` sections", { field: "mla" });
  return { mla: s.mla, moe: s.moe };
}

export const deepseek2: FactoryArch = {
  // V2-Lite-like: plain q, latent 4 heads wide, rope on half a head; 8 experts top-2 + 1 shared.
  shapeDefaults: (s) => {
    const hd = s.headDim ?? s.nEmbd / s.nHead;
    return {
      mla: { qLoraRank: 0, kvLoraRank: 4 * hd, nopeDim: hd, ropeDim: hd / 2, vDim: hd },
      moe: {
        nExpert: 8,
        nExpertUsed: 2,
        nFfExp: Math.max(16, Math.floor(s.nFf / 4)),
        nShared: 1,
        leadingDense: 1,
      },
    };
  },
  hparams(s: ResolvedSpec): HParams {
    const { mla, moe } = mlaOf(s);
    const a = s.arch;
    const h = llamaLikeHParams(s);
    Object.assign(h, {
      [`${a}.rope.dimension_count`]: u32(mla.ropeDim),
      [`${a}.attention.q_lora_rank`]: u32(mla.qLoraRank),
      [`${a}.attention.kv_lora_rank`]: u32(mla.kvLoraRank),
      [`${a}.attention.key_length`]: u32(mla.kvLoraRank + mla.ropeDim),
      [`${a}.attention.value_length`]: u32(mla.kvLoraRank),
      [`${a}.attention.key_length_mla`]: u32(mla.nopeDim + mla.ropeDim),
      [`${a}.attention.value_length_mla`]: u32(mla.vDim),
      [`${a}.attention.head_count_kv`]: u32(1),
      [`${a}.leading_dense_block_count`]: u32(moe.leadingDense ?? 0),
      [`${a}.expert_count`]: u32(moe.nExpert),
      [`${a}.expert_used_count`]: u32(moe.nExpertUsed),
      [`${a}.expert_shared_count`]: u32(moe.nShared ?? 1),
      [`${a}.expert_feed_forward_length`]: u32(nFfExp(s)),
      [`${a}.expert_weights_scale`]: f32(moe.weightsScale ?? 1),
      [`${a}.expert_weights_norm`]: moe.weightsNorm ?? false,
      [`${a}.expert_gating_func`]: u32(moe.gatingFunc ?? 1),
    });
    if (moe.nGroup) {
      h[`${a}.expert_group_count`] = u32(moe.nGroup);
      h[`${a}.expert_group_used_count`] = u32(moe.nGroupUsed ?? 1);
    }
    return h;
  },
  tensors(s: ResolvedSpec): TensorPlan[] {
    const { mla, moe } = mlaOf(s);
    const t = embeddingTensors(s);
    const H = s.nHead;
    const qHead = mla.nopeDim + mla.ropeDim;
    for (let il = 0; il < s.nLayer; il++) {
      const p = `blk.${il}`;
      t.push({ name: `${p}.attn_norm.weight`, dims: [s.nEmbd], role: "norm" });
      if (mla.qLoraRank > 0) {
        t.push(
          { name: `${p}.attn_q_a.weight`, dims: [s.nEmbd, mla.qLoraRank], role: "weight" },
          { name: `${p}.attn_q_a_norm.weight`, dims: [mla.qLoraRank], role: "norm" },
          { name: `${p}.attn_q_b.weight`, dims: [mla.qLoraRank, H * qHead], role: "weight" },
        );
      } else {
        t.push({ name: `${p}.attn_q.weight`, dims: [s.nEmbd, H * qHead], role: "weight" });
      }
      t.push(
        { name: `${p}.attn_kv_a_mqa.weight`, dims: [s.nEmbd, mla.kvLoraRank + mla.ropeDim], role: "weight" },
        { name: `${p}.attn_kv_a_norm.weight`, dims: [mla.kvLoraRank], role: "norm" },
        { name: `${p}.attn_k_b.weight`, dims: [mla.nopeDim, mla.kvLoraRank, H], role: "weight" },
        { name: `${p}.attn_v_b.weight`, dims: [mla.kvLoraRank, mla.vDim, H], role: "weight" },
        { name: `${p}.attn_output.weight`, dims: [H * mla.vDim, s.nEmbd], role: "weight" },
      );
      if (il < (moe.leadingDense ?? 0)) {
        t.push(...denseFfnTensors(s, il));
      } else {
        t.push(...moeFfnTensors(s, il, nFfExp(s)));
        if (moe.probsBias) t.push({ name: `${p}.exp_probs_b.bias`, dims: [moe.nExpert], role: "bias" });
        t.push(...sharedExpertTensors(s, il, nFfShared(s), false));
      }
    }
    t.push(...outputTensors(s));
    return t;
  },
};
