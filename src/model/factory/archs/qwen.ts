/**
 * qwen2 / qwen3 / qwen2moe / qwen3moe test models: llama-like hparams; qwen2-style q/k/v biases,
 * qwen3-style per-head q/k norms; MoE with `expert_feed_forward_length` and (qwen2moe) one
 * sigmoid-gated shared expert (`ffn_gate_inp_shexp` [nEmbd], `ffn_*_shexp`).
 */
import { GGUFValueType, typed } from "../../../gguf/value.js";
import type { ResolvedSpec } from "../spec.js";
import { moeFfnTensors } from "./llama.js";
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

const u32 = (v: number) => typed(GGUFValueType.UINT32, v);

interface QwenFlags {
  bias: boolean;
  qkNorm: boolean;
  moe: boolean;
  sharedExpert: boolean;
}

function qkNormTensors(s: ResolvedSpec, il: number): TensorPlan[] {
  return [
    { name: `blk.${il}.attn_q_norm.weight`, dims: [s.headDim], role: "norm" },
    { name: `blk.${il}.attn_k_norm.weight`, dims: [s.headDim], role: "norm" },
  ];
}

export function sharedExpertTensors(s: ResolvedSpec, il: number, ff: number, gated: boolean): TensorPlan[] {
  const p = `blk.${il}`;
  const t: TensorPlan[] = [];
  if (gated) t.push({ name: `${p}.ffn_gate_inp_shexp.weight`, dims: [s.nEmbd], role: "router" });
  t.push(
    { name: `${p}.ffn_gate_shexp.weight`, dims: [s.nEmbd, ff], role: "weight" },
    { name: `${p}.ffn_up_shexp.weight`, dims: [s.nEmbd, ff], role: "weight" },
    { name: `${p}.ffn_down_shexp.weight`, dims: [ff, s.nEmbd], role: "weight" },
  );
  return t;
}

export const nFfExp = (s: ResolvedSpec) => s.moe?.nFfExp ?? s.nFf;
export const nFfShared = (s: ResolvedSpec) =>
  s.moe?.nFfShared ?? nFfExp(s) * Math.max(1, s.moe?.nShared ?? 0);

function qwen(f: QwenFlags): FactoryArch {
  return {
    // Experts a quarter of the FFN wide (qwen2moe: plus one shared expert of the full width).
    shapeDefaults: (s) =>
      f.moe
        ? {
            moe: {
              nExpert: 8,
              nExpertUsed: 2,
              nFfExp: Math.max(16, Math.floor(s.nFf / 4)),
              ...(f.sharedExpert ? { nFfShared: s.nFf } : {}),
            },
          }
        : {},
    hparams(s: ResolvedSpec): HParams {
      const h = llamaLikeHParams(s);
      if (f.moe) {
        const m = s.moe!;
        h[`${s.arch}.expert_count`] = u32(m.nExpert);
        h[`${s.arch}.expert_used_count`] = u32(m.nExpertUsed);
        h[`${s.arch}.expert_feed_forward_length`] = u32(nFfExp(s));
        if (f.sharedExpert) h[`${s.arch}.expert_shared_feed_forward_length`] = u32(nFfShared(s));
      }
      return h;
    },
    tensors(s: ResolvedSpec): TensorPlan[] {
      const t = embeddingTensors(s);
      for (let il = 0; il < s.nLayer; il++) {
        t.push(...attentionTensors(s, il, { bias: f.bias }));
        if (f.qkNorm) t.push(...qkNormTensors(s, il));
        if (f.moe) {
          t.push(...moeFfnTensors(s, il, nFfExp(s)));
          if (f.sharedExpert) t.push(...sharedExpertTensors(s, il, nFfShared(s), true));
        } else {
          t.push(...denseFfnTensors(s, il));
        }
      }
      t.push(...outputTensors(s));
      return t;
    },
  };
}

export const qwen2 = qwen({ bias: true, qkNorm: false, moe: false, sharedExpert: false });
export const qwen3 = qwen({ bias: false, qkNorm: true, moe: false, sharedExpert: false });
export const qwen2moe = qwen({ bias: true, qkNorm: false, moe: true, sharedExpert: true });
export const qwen3moe = qwen({ bias: false, qkNorm: true, moe: true, sharedExpert: false });
