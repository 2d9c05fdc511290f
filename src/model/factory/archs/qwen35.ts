/**
 * qwen35 test models: llama-like hparams plus `ssm.*` (conv width, inner size, state size, value
 * heads as time_step_rank, key heads as group_count), `full_attention_interval` and the IMROPE
 * `rope.dimension_sections` (sections covering the rotated dims, so text positions rotate as
 * NEOX). Per layer: attn_norm, post_attention_norm (the FFN's input norm), then gated attention
 * (attn_q [nEmbd, 2 nHead hd] = [q; gate] per head, q/k norms) or the DeltaNet tensors
 * (attn_qkv, attn_gate, ssm_conv1d, ssm_dt.bias, ssm_a, ssm_beta, ssm_alpha, ssm_norm, ssm_out);
 * SwiGLU FFN without ffn_norm; qwen35moe: a MoE FFN instead (router, stacked experts, one shared
 * expert with its sigmoid gate ffn_gate_inp_shexp, as qwen2moe), with `expert_feed_forward_length`
 * and `expert_shared_feed_forward_length`.
 */
import { ModelError } from "../../../errors.js";
import { GGUFValueType, typed } from "../../../gguf/value.js";
import type { ResolvedSpec } from "../spec.js";
import { moeFfnTensors } from "./llama.js";
import { nFfExp, nFfShared, sharedExpertTensors } from "./qwen.js";
import {
  embeddingTensors,
  llamaLikeHParams,
  outputTensors,
  type FactoryArch,
  type HParams,
  type TensorPlan,
} from "./plan.js";

const u32 = (v: number) => typed(GGUFValueType.UINT32, v);

function dnOf(s: ResolvedSpec) {
  if (!s.deltaNet)
    throw new ModelError("qwen35 test models need a `deltaNet` section", { field: "deltaNet" });
  return s.deltaNet;
}

function qwen35Like(moe: boolean, next = false): FactoryArch {
  return {
    shapeDefaults: (s) => {
      const hd = s.headDim ?? s.nEmbd / s.nHead;
      return {
        deltaNet: {
          convWidth: 4,
          nKHeads: 2,
          nVHeads: 4,
          headK: hd,
          headV: hd,
          interval: 4,
          ropeDim: hd / 2,
        },
        // qwen35moe: experts a quarter of the FFN wide, a shared expert of the full width.
        ...(moe
          ? {
              moe: {
                nExpert: 8,
                nExpertUsed: 2,
                nFfExp: Math.max(16, Math.floor(s.nFf / 4)),
                nFfShared: s.nFf,
              },
            }
          : {}),
      };
    },
    hparams(s: ResolvedSpec): HParams {
      const d = dnOf(s);
      const a = s.arch;
      const h = llamaLikeHParams(s);
      const ropeDim = d.ropeDim ?? s.headDim;
      if (ropeDim % 2 !== 0)
        throw new ModelError(`ropeDim ${ropeDim} must be even`, { field: "deltaNet.ropeDim" });
      // Sections t, h, w over ropeDim / 2 pairs, each covering its interleaved sectors.
      const half = ropeDim / 2;
      const s0 = Math.ceil(half / 3);
      const s1 = Math.ceil((half - s0) / 2);
      h[`${a}.rope.dimension_count`] = u32(ropeDim);
      if (!next) h[`${a}.rope.dimension_sections`] = new Int32Array([s0, s1, half - s0 - s1, 0]);
      h[`${a}.attention.key_length`] = u32(s.headDim);
      h[`${a}.attention.value_length`] = u32(s.headDim);
      h[`${a}.ssm.conv_kernel`] = u32(d.convWidth);
      h[`${a}.ssm.inner_size`] = u32(d.nVHeads * d.headV);
      h[`${a}.ssm.state_size`] = u32(d.headK);
      h[`${a}.ssm.time_step_rank`] = u32(d.nVHeads);
      h[`${a}.ssm.group_count`] = u32(d.nKHeads);
      h[`${a}.full_attention_interval`] = u32(d.interval);
      if (moe) {
        if (!s.moe) throw new ModelError("qwen35moe test models need a `moe` section", { field: "moe" });
        h[`${a}.expert_count`] = u32(s.moe.nExpert);
        h[`${a}.expert_used_count`] = u32(s.moe.nExpertUsed);
        h[`${a}.expert_feed_forward_length`] = u32(nFfExp(s));
        h[`${a}.expert_shared_feed_forward_length`] = u32(nFfShared(s));
      }
      return h;
    },
    tensors(s: ResolvedSpec): TensorPlan[] {
      const d = dnOf(s);
      const E = s.nEmbd;
      const ch = 2 * d.nKHeads * d.headK + d.nVHeads * d.headV;
      const vDim = d.nVHeads * d.headV;
      const q = s.nHead * s.headDim;
      const kv = s.nHeadKv * s.headDim;
      const t = embeddingTensors(s);
      for (let il = 0; il < s.nLayer; il++) {
        const p = `blk.${il}`;
        t.push(
          { name: `${p}.attn_norm.weight`, dims: [E], role: "norm" },
          { name: `${p}.post_attention_norm.weight`, dims: [E], role: "norm" },
        );
        if ((il + 1) % d.interval === 0) {
          t.push(
            { name: `${p}.attn_q.weight`, dims: [E, 2 * q], role: "weight" },
            { name: `${p}.attn_k.weight`, dims: [E, kv], role: "weight" },
            { name: `${p}.attn_v.weight`, dims: [E, kv], role: "weight" },
            { name: `${p}.attn_output.weight`, dims: [q, E], role: "weight" },
            { name: `${p}.attn_q_norm.weight`, dims: [s.headDim], role: "norm" },
            { name: `${p}.attn_k_norm.weight`, dims: [s.headDim], role: "norm" },
          );
        } else {
          t.push(
            { name: `${p}.attn_qkv.weight`, dims: [E, ch], role: "weight" },
            { name: `${p}.attn_gate.weight`, dims: [E, vDim], role: "weight" },
            { name: `${p}.ssm_conv1d.weight`, dims: [d.convWidth, ch], role: "bias" },
            { name: `${p}.ssm_dt.bias`, dims: [d.nVHeads], role: "bias" },
            { name: `${p}.ssm_a`, dims: [d.nVHeads], role: "bias" },
            ...(next
              ? [{ name: `${p}.ssm_ba.weight`, dims: [E, 2 * d.nVHeads], role: "weight" as const }]
              : [
                  { name: `${p}.ssm_beta.weight`, dims: [E, d.nVHeads], role: "weight" as const },
                  { name: `${p}.ssm_alpha.weight`, dims: [E, d.nVHeads], role: "weight" as const },
                ]),
            { name: `${p}.ssm_norm.weight`, dims: [d.headV], role: "norm" },
            { name: `${p}.ssm_out.weight`, dims: [vDim, E], role: "weight" },
          );
        }
        if (moe) {
          // The shared moeFfnTensors plan starts with ffn_norm, which qwen35 stores as post_attention_norm.
          t.push(
            ...moeFfnTensors(s, il, nFfExp(s)).slice(1),
            ...sharedExpertTensors(s, il, nFfShared(s), true),
          );
        } else {
          t.push(
            { name: `${p}.ffn_gate.weight`, dims: [E, s.nFf], role: "weight" },
            { name: `${p}.ffn_up.weight`, dims: [E, s.nFf], role: "weight" },
            { name: `${p}.ffn_down.weight`, dims: [s.nFf, E], role: "weight" },
          );
        }
      }
      t.push(...outputTensors(s));
      return t;
    },
  };
}

export const qwen35 = qwen35Like(false);
export const qwen35moe = qwen35Like(true);
/** qwen3next: qwen35moe with `ssm_ba` (fused beta/alpha) and no IMROPE sections key. */
export const qwen3next = qwen35Like(true, true);
