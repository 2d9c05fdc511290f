/**
 * Export a trained model as a `llama`-architecture GGUF (F32 tensors) carrying its tokenizer and
 * chat template. No weight permutation is needed: the model trains with llama.cpp's NORM-mode
 * RoPE (adjacent pairs), which is what llama.cpp applies to attn_q/attn_k of `llama` GGUFs
 * (convert_hf_to_gguf.py permutes HF q/k only because HF rotates halves instead).
 * Tensor dims are written in ggml order (row length first): the row-major shape reversed.
 * A tied model writes no output.weight; llama.cpp then reuses token_embd for the output.
 */
import { GGMLType } from "../gguf/types.js";
import { GGUFValueType, typed } from "../gguf/value.js";
import { GGUFWriter } from "../gguf/writer.js";
import { InputError } from "../errors.js";
import { quantizeRows } from "../quant/index.js";
import type { Buf } from "./ops/buf.js";
import { headDim, type TrainModelConfig } from "./model/config.js";
import { paramLayout, view } from "./model/params.js";
import { tokenizerMetadata, type Vocab } from "./bpe/vocab.js";

export interface ExportOptions {
  name?: string;
  /** weight matrices as F32 (default) or Q8_0 (norm gains stay F32, as llama.cpp's quantizer does) */
  type?: "f32" | "q8_0";
  /** extra general.* / edgellm.* metadata (training summary) */
  extra?: [string, string | number][];
}

/** llama_ftype values: LLAMA_FTYPE_ALL_F32 = 0, LLAMA_FTYPE_MOSTLY_Q8_0 = 7. */
const FTYPE = { f32: 0, q8_0: 7 } as const;

export function buildGGUF(
  cfg: TrainModelConfig,
  params: Buf,
  vocab: Vocab,
  opts: ExportOptions = {},
): GGUFWriter {
  const layout = paramLayout(cfg);
  if (params.length !== layout.total)
    throw new InputError(`params has ${params.length} values, config needs ${layout.total}`);
  if (vocab.tokens.length !== cfg.vocab) {
    throw new InputError(`vocabulary has ${vocab.tokens.length} tokens, model config says ${cfg.vocab}`, {
      field: "vocab",
    });
  }
  const w = new GGUFWriter();
  const f32 = (x: number) => typed(GGUFValueType.FLOAT32, x);
  const u32 = (x: number) => typed(GGUFValueType.UINT32, x);
  w.set("general.architecture", "llama");
  w.set("general.name", opts.name ?? "edgellm-default");
  const type = opts.type ?? "f32";
  w.set("general.file_type", u32(FTYPE[type]));
  for (const [k, v] of opts.extra ?? []) w.set(k, typeof v === "number" ? u32(v) : v);
  w.set("llama.vocab_size", u32(cfg.vocab));
  w.set("llama.context_length", u32(cfg.ctx));
  w.set("llama.embedding_length", u32(cfg.dim));
  w.set("llama.block_count", u32(cfg.layers));
  w.set("llama.feed_forward_length", u32(cfg.ffn));
  w.set("llama.attention.head_count", u32(cfg.heads));
  w.set("llama.attention.head_count_kv", u32(cfg.kvHeads));
  w.set("llama.rope.dimension_count", u32(headDim(cfg)));
  w.set("llama.rope.freq_base", f32(cfg.ropeBase));
  w.set("llama.attention.layer_norm_rms_epsilon", f32(cfg.normEps));
  for (const [k, v] of tokenizerMetadata(vocab)) w.set(k, v);
  for (const e of layout.entries) {
    const data = Float32Array.from(view(params, e));
    const rowLen = e.shape[e.shape.length - 1];
    if (type === "q8_0" && e.shape.length === 2 && rowLen % 32 === 0) {
      // rows of the row-major matrix are ggml rows (ne0 = row length): blocks of 32 along a row
      w.addTensor(e.name, GGMLType.Q8_0, [...e.shape].reverse(), quantizeRows(GGMLType.Q8_0, data, rowLen));
    } else w.addTensor(e.name, GGMLType.F32, [...e.shape].reverse(), new Uint8Array(data.buffer));
  }
  return w;
}

export async function exportGGUF(
  path: string,
  cfg: TrainModelConfig,
  params: Buf,
  vocab: Vocab,
  opts: ExportOptions = {},
): Promise<void> {
  await buildGGUF(cfg, params, vocab, opts).write(path);
}
