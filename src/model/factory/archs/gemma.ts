/**
 * gemma2 / gemma3 test models: llama-like hparams plus the sliding window (and optionally its
 * pattern and local RoPE base) and soft-capping caps; per layer post_attention_norm and post_ffw_norm
 * beside the usual norms, gemma3's per-head q/k norms; tied embeddings (no output.weight: gemma2
 * in llama.cpp always reuses token_embd, gemma3 does when output.weight is absent).
 */
import { ModelError } from "../../../errors.js";
import { GGUFValueType, typed } from "../../../gguf/value.js";
import type { ResolvedSpec } from "../spec.js";
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
const f32 = (v: number) => typed(GGUFValueType.FLOAT32, v);

function gemma(qkNorm: boolean): FactoryArch {
  return {
    // Tied output; local layers with a window of a quarter of the context (at least 4 tokens);
    // gemma3 presets with fewer than 6 layers keep one global layer (pattern = layer count).
    shapeDefaults: (s) => ({
      tiedEmbeddings: true,
      swa: {
        window: Math.max(4, Math.floor((s.nCtx ?? 2048) / 4)),
        pattern: s.arch === "gemma3" ? Math.min(6, s.nLayer) : 2,
      },
    }),
    hparams(s: ResolvedSpec): HParams {
      const a = s.arch;
      const h = llamaLikeHParams(s);
      // llama.cpp's gemma loaders read head sizes from key_length/value_length; write them always.
      h[`${a}.attention.key_length`] = u32(s.headDim);
      h[`${a}.attention.value_length`] = u32(s.headDim);
      if (s.swa) {
        h[`${a}.attention.sliding_window`] = u32(s.swa.window);
        const p = s.swa.pattern;
        if (Array.isArray(p)) {
          if (p.length !== s.nLayer)
            throw new ModelError(`swa.pattern has ${p.length} entries for ${s.nLayer} layers`, {
              field: "swa.pattern",
            });
          h[`${a}.attention.sliding_window_pattern`] = p;
        } else if (p !== undefined) {
          h[`${a}.attention.sliding_window_pattern`] = u32(p);
        }
        if (s.swa.ropeFreqBaseSwa !== undefined) h[`${a}.rope.freq_base_swa`] = f32(s.swa.ropeFreqBaseSwa);
      }
      if (s.softcap?.attn !== undefined) h[`${a}.attn_logit_softcapping`] = f32(s.softcap.attn);
      if (s.softcap?.final !== undefined) h[`${a}.final_logit_softcapping`] = f32(s.softcap.final);
      return h;
    },
    tensors(s: ResolvedSpec): TensorPlan[] {
      if (s.arch === "gemma2" && !s.tiedEmbeddings)
        throw new ModelError("gemma2 always ties its output to token_embd", {
          field: "tiedEmbeddings",
          hint: "set tiedEmbeddings: true",
        });
      const t = embeddingTensors(s);
      for (let il = 0; il < s.nLayer; il++) {
        const p = `blk.${il}`;
        t.push(...attentionTensors(s, il));
        if (qkNorm)
          t.push(
            { name: `${p}.attn_q_norm.weight`, dims: [s.headDim], role: "norm" },
            { name: `${p}.attn_k_norm.weight`, dims: [s.headDim], role: "norm" },
          );
        t.push({ name: `${p}.post_attention_norm.weight`, dims: [s.nEmbd], role: "norm" });
        t.push(...denseFfnTensors(s, il));
        t.push({ name: `${p}.post_ffw_norm.weight`, dims: [s.nEmbd], role: "norm" });
      }
      t.push(...outputTensors(s));
      return t;
    },
  };
}

export const gemma2 = gemma(false);
export const gemma3 = gemma(true);
