/**
 * Read back a GGUF written by export.ts: model config, F32 parameters in the training layout and
 * the byte-level BPE (merges + token bytes), so a new recipe can start from a shipped model
 * (warm start) with exactly its tokenizer. Only F32 tensors are accepted (the -f32.gguf export);
 * the tokens must be the layout buildVocab writes (256 bytes, merges in rank order, specials).
 */
import { openGGUF } from "../gguf/reader.js";
import { getNumber, getStringArray, getU32 } from "../gguf/getters.js";
import { GGMLType } from "../gguf/types.js";
import { InputError } from "../errors.js";
import { BYTE_TO_CHAR } from "./bpe/bytes.js";
import { SPECIAL_TEXTS } from "./bpe/vocab.js";
import type { BpeModel } from "./bpe/trainer.js";
import type { TrainModelConfig } from "./model/config.js";
import { paramLayout, view } from "./model/params.js";

export interface Imported {
  config: TrainModelConfig;
  params: Float32Array;
  bpe: BpeModel;
}

function symbolsToBytes(s: string, charToByte: Map<string, number>, file: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = charToByte.get(s[i]);
    if (b === undefined) throw new InputError(`token '${s}' is not in the byte alphabet`, { file });
    out[i] = b;
  }
  return out;
}

export async function importGGUF(path: string): Promise<Imported> {
  const f = await openGGUF(path);
  try {
    const md = f.metadata;
    if (md.get("general.architecture") !== "llama")
      throw new InputError("only llama GGUFs exported by edgellm train can be imported", { file: path });
    const tokens = getStringArray(md, "tokenizer.ggml.tokens");
    const hasOutput = f.tensorByName("output.weight") !== undefined;
    const config: TrainModelConfig = {
      vocab: tokens.length,
      dim: getU32(md, "llama.embedding_length"),
      layers: getU32(md, "llama.block_count"),
      heads: getU32(md, "llama.attention.head_count"),
      kvHeads: getU32(md, "llama.attention.head_count_kv"),
      ffn: getU32(md, "llama.feed_forward_length"),
      ctx: getU32(md, "llama.context_length"),
      ropeBase: getNumber(md, "llama.rope.freq_base"),
      normEps: getNumber(md, "llama.attention.layer_norm_rms_epsilon"),
      tied: !hasOutput,
    };
    const layout = paramLayout(config);
    const params = new Float32Array(layout.total);
    for (const e of layout.entries) {
      const t = f.tensorByName(e.name);
      if (!t) throw new InputError(`tensor ${e.name} missing`, { file: path });
      if (t.type !== GGMLType.F32)
        throw new InputError(`tensor ${e.name} is not F32 (import the -f32.gguf file)`, { file: path });
      const bytes = await f.readTensor(t);
      const src = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      if (src.length !== e.size)
        throw new InputError(`tensor ${e.name} has ${src.length} values, expected ${e.size}`);
      view(params, e).set(src);
    }
    // tokenizer: ids 0..255 bytes, then merges in rank order, then the specials
    const charToByte = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
    const nSpecial = SPECIAL_TEXTS.length;
    const nNormal = tokens.length - nSpecial;
    for (let i = 0; i < nSpecial; i++)
      if (tokens[nNormal + i] !== SPECIAL_TEXTS[i])
        throw new InputError(
          `special token ${i} is '${tokens[nNormal + i]}', expected '${SPECIAL_TEXTS[i]}'`,
          {
            file: path,
          },
        );
    const tokenBytes = tokens.slice(0, nNormal).map((s) => symbolsToBytes(s, charToByte, path));
    const id = new Map(tokens.slice(0, nNormal).map((s, i) => [s, i]));
    const mergeStrs = getStringArray(md, "tokenizer.ggml.merges");
    const merges: [number, number][] = mergeStrs.map((m, r) => {
      const [l, rr] = m.split(" ");
      const a = id.get(l);
      const b = id.get(rr);
      if (a === undefined || b === undefined || id.get(l + rr) !== 256 + r)
        throw new InputError(`merge ${r} '${m}' does not create token ${256 + r}`, { file: path });
      return [a, b];
    });
    return { config, params, bpe: { merges, tokenBytes } };
  } finally {
    await f.close();
  }
}
