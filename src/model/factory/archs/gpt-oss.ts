/**
 * gpt-oss test models (llama.cpp `openai-moe` loader): llama-like hparams with key/value lengths
 * always written (the real shape has nHead * headDim != nEmbd), `expert_feed_forward_length`,
 * `attention.sliding_window` (required) and optionally its pattern and local RoPE base. Per layer:
 * attn_norm, q/k/v with biases, attn_output with a bias, attn_sinks [nHead], post_attention_norm
 * (the FFN's input norm), router ffn_gate_inp with a bias, stacked experts (role "experts": the
 * `types.experts` policy, MXFP4 in released files) each with a bias [ff or nEmbd, nExpert];
 * untied output.
 */
import { ModelError } from "../../../errors.js";
import { GGUFValueType, typed } from "../../../gguf/value.js";
import type { ResolvedSpec } from "../spec.js";
import {
  attentionTensors,
  embeddingTensors,
  llamaLikeHParams,
  outputTensors,
  type FactoryArch,
  type HParams,
  type TensorPlan,
} from "./plan.js";

const u32 = (v: number) => typed(GGUFValueType.UINT32, v);
const f32 = (v: number) => typed(GGUFValueType.FLOAT32, v);

function sections(s: ResolvedSpec) {
  if (!s.moe) throw new ModelError("gpt-oss test models need a `moe` section", { field: "moe" });
  if (!s.swa) throw new ModelError("gpt-oss test models need a `swa` section (window)", { field: "swa" });
  if (s.tiedEmbeddings) throw new ModelError("gpt-oss always has output.weight", { field: "tiedEmbeddings" });
  return { moe: s.moe, swa: s.swa, ff: s.moe.nFfExp ?? s.nFf };
}

export const gptOss: FactoryArch = {
  // Real gpt-oss-20b: 32 experts, 4 used, expert width = nEmbd, window 128, even layers local.
  shapeDefaults: (s) => ({
    moe: { nExpert: 8, nExpertUsed: 2, nFfExp: s.nFf },
    swa: { window: Math.max(4, Math.floor((s.nCtx ?? 2048) / 4)) },
  }),
  hparams(s: ResolvedSpec): HParams {
    const { moe, swa, ff } = sections(s);
    const a = s.arch;
    const h = llamaLikeHParams(s);
    h[`${a}.attention.key_length`] = u32(s.headDim);
    h[`${a}.attention.value_length`] = u32(s.headDim);
    h[`${a}.expert_count`] = u32(moe.nExpert);
    h[`${a}.expert_used_count`] = u32(moe.nExpertUsed);
    h[`${a}.expert_feed_forward_length`] = u32(ff);
    h[`${a}.attention.sliding_window`] = u32(swa.window);
    const p = swa.pattern;
    if (Array.isArray(p)) {
      if (p.length !== s.nLayer)
        throw new ModelError(`swa.pattern has ${p.length} entries for ${s.nLayer} layers`, {
          field: "swa.pattern",
        });
      h[`${a}.attention.sliding_window_pattern`] = p;
    } else if (p !== undefined) {
      h[`${a}.attention.sliding_window_pattern`] = u32(p);
    }
    if (swa.ropeFreqBaseSwa !== undefined) h[`${a}.rope.freq_base_swa`] = f32(swa.ropeFreqBaseSwa);
    return h;
  },
  tensors(s: ResolvedSpec): TensorPlan[] {
    const { moe, ff } = sections(s);
    const E = s.nEmbd;
    const X = moe.nExpert;
    const t = embeddingTensors(s);
    for (let il = 0; il < s.nLayer; il++) {
      const p = `blk.${il}`;
      t.push(
        ...attentionTensors(s, il, { bias: true }),
        { name: `${p}.attn_output.bias`, dims: [E], role: "bias" },
        // Sink logits near 1 (role "norm": 1 + N(0, normStd)), the size of real ones.
        { name: `${p}.attn_sinks.weight`, dims: [s.nHead], role: "norm" },
        { name: `${p}.post_attention_norm.weight`, dims: [E], role: "norm" },
        { name: `${p}.ffn_gate_inp.weight`, dims: [E, X], role: "router" },
        { name: `${p}.ffn_gate_inp.bias`, dims: [X], role: "bias" },
        { name: `${p}.ffn_gate_exps.weight`, dims: [E, ff, X], role: "experts" },
        { name: `${p}.ffn_gate_exps.bias`, dims: [ff, X], role: "bias" },
        { name: `${p}.ffn_up_exps.weight`, dims: [E, ff, X], role: "experts" },
        { name: `${p}.ffn_up_exps.bias`, dims: [ff, X], role: "bias" },
        { name: `${p}.ffn_down_exps.weight`, dims: [ff, E, X], role: "experts" },
        { name: `${p}.ffn_down_exps.bias`, dims: [E, X], role: "bias" },
      );
    }
    t.push(...outputTensors(s));
    return t;
  },
};
