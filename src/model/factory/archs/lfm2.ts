/**
 * lfm2 test models: llama-like hparams with `attention.head_count_kv` as a per-layer array (0 for
 * the short-convolution layers) and `shortconv.l_cache`; per layer attn_norm, then either GQA
 * attention with q/k norms or shortconv.conv [width, nEmbd] / in_proj [nEmbd, 3 nEmbd] /
 * out_proj [nEmbd, nEmbd]; then ffn_norm and a SwiGLU FFN. The final norm is
 * `token_embd_norm.weight`; output.weight unless tied.
 */
import { ModelError } from "../../../errors.js";
import { GGUFValueType, typed } from "../../../gguf/value.js";
import type { ResolvedSpec } from "../spec.js";
import {
  attentionTensors,
  denseFfnTensors,
  embeddingTensors,
  llamaLikeHParams,
  type FactoryArch,
  type HParams,
  type TensorPlan,
} from "./plan.js";

const u32 = (v: number) => typed(GGUFValueType.UINT32, v);

function convOf(s: ResolvedSpec) {
  if (!s.shortConv)
    throw new ModelError("lfm2 test models need a `shortConv` section", { field: "shortConv" });
  if (s.nHead * s.headDim !== s.nEmbd)
    throw new ModelError("lfm2 needs nHead * headDim = nEmbd", { field: "headDim" });
  return s.shortConv;
}

export const lfm2: FactoryArch = {
  // LFM2-like: attention on about every third layer (the rest convolutions), kernel width 3.
  shapeDefaults: (s) => ({
    shortConv: {
      width: 3,
      attentionLayers: Array.from({ length: s.nLayer }, (_, l) => l).filter((l) => l % 3 === 2),
    },
  }),
  hparams(s: ResolvedSpec): HParams {
    const sc = convOf(s);
    const h = llamaLikeHParams(s);
    const kv = new Uint32Array(s.nLayer);
    for (const l of sc.attentionLayers) kv[l] = s.nHeadKv;
    h[`${s.arch}.attention.head_count_kv`] = kv;
    h[`${s.arch}.shortconv.l_cache`] = u32(sc.width);
    return h;
  },
  tensors(s: ResolvedSpec): TensorPlan[] {
    const sc = convOf(s);
    const t = embeddingTensors(s);
    const E = s.nEmbd;
    for (let il = 0; il < s.nLayer; il++) {
      const p = `blk.${il}`;
      if (sc.attentionLayers.includes(il)) {
        t.push(...attentionTensors(s, il));
        t.push(
          { name: `${p}.attn_q_norm.weight`, dims: [s.headDim], role: "norm" },
          { name: `${p}.attn_k_norm.weight`, dims: [s.headDim], role: "norm" },
        );
      } else {
        t.push(
          { name: `${p}.attn_norm.weight`, dims: [E], role: "norm" },
          // The conv kernel is a small 2-D F32 tensor in llama.cpp's files ("bias" role: always F32).
          { name: `${p}.shortconv.conv.weight`, dims: [sc.width, E], role: "bias" },
          { name: `${p}.shortconv.in_proj.weight`, dims: [E, 3 * E], role: "weight" },
          { name: `${p}.shortconv.out_proj.weight`, dims: [E, E], role: "weight" },
        );
      }
      t.push(...denseFfnTensors(s, il));
    }
    t.push({ name: "token_embd_norm.weight", dims: [E], role: "norm" });
    if (!s.tiedEmbeddings) t.push({ name: "output.weight", dims: [E, s.nVocab], role: "output" });
    return t;
  },
};
