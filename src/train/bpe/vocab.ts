/**
 * The full vocabulary of a trained byte-level BPE model and its GGUF tokenizer record:
 *   ids 0..255          single bytes (in byte order), then one id per merge, in rank order
 *   ids after those     special tokens: <|endoftext|>, <|im_start|>, <|im_end|> (CONTROL) and
 *                       <think>, </think> (USER_DEFINED: matched in any text, like Qwen3's)
 * Token strings use the GPT-2 byte alphabet (bytes.ts), merges are "left right" in that alphabet:
 * exactly what llama.cpp's gpt2 vocab (llama-vocab.cpp) and our tokenizer read.
 */
import { GGUFValueType, typed, type GGUFTypedValue } from "../../gguf/value.js";
import type { GGUFMetaValue } from "../../gguf/value.js";
import { CHATML_TEMPLATE, END_OF_TEXT, IM_END, IM_START, THINK_CLOSE, THINK_OPEN } from "../data/format.js";
import { bytesToSymbolString } from "./bytes.js";
import { BpeEncoder } from "./encoder.js";
import { PRE_TOKENIZER } from "./pretokenize.js";
import type { BpeModel } from "./trainer.js";

/** llama.cpp `llama_token_type` values (gguf tokenizer.ggml.token_type). */
export enum TokenType {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

export const SPECIAL_TOKENS: readonly { text: string; type: TokenType }[] = [
  { text: END_OF_TEXT, type: TokenType.CONTROL },
  { text: IM_START, type: TokenType.CONTROL },
  { text: IM_END, type: TokenType.CONTROL },
  { text: THINK_OPEN, type: TokenType.USER_DEFINED },
  { text: THINK_CLOSE, type: TokenType.USER_DEFINED },
];
export const SPECIAL_TEXTS: readonly string[] = SPECIAL_TOKENS.map((s) => s.text);

export interface Vocab {
  model: BpeModel;
  /** token strings, index = id */
  tokens: string[];
  types: Int32Array;
  /** special token text -> id */
  specials: Map<string, number>;
  bos: number;
  eos: number;
  eot: number;
  pad: number;
  encoder: BpeEncoder;
}

export function buildVocab(model: BpeModel): Vocab {
  const tokens = model.tokenBytes.map(bytesToSymbolString);
  const types: number[] = tokens.map(() => TokenType.NORMAL);
  const specials = new Map<string, number>();
  for (const s of SPECIAL_TOKENS) {
    specials.set(s.text, tokens.length);
    tokens.push(s.text);
    types.push(s.type);
  }
  const id = (t: string) => specials.get(t)!;
  return {
    model,
    tokens,
    types: Int32Array.from(types),
    specials,
    // ChatML models (Qwen) use <|endoftext|> as bos/pad without adding it, and stop on <|im_end|>
    bos: id(END_OF_TEXT),
    eos: id(IM_END),
    eot: id(IM_END),
    pad: id(END_OF_TEXT),
    encoder: new BpeEncoder(model, specials),
  };
}

/** The tokenizer.* keys of the GGUF, ready for GGUFWriter.set(key, value). */
export function tokenizerMetadata(v: Vocab): [string, GGUFMetaValue | GGUFTypedValue][] {
  const merges = v.model.merges.map(([l, r]) => `${v.tokens[l]} ${v.tokens[r]}`);
  const u32 = (x: number) => typed(GGUFValueType.UINT32, x);
  return [
    ["tokenizer.ggml.model", "gpt2"],
    ["tokenizer.ggml.pre", PRE_TOKENIZER],
    ["tokenizer.ggml.tokens", v.tokens],
    ["tokenizer.ggml.token_type", v.types],
    ["tokenizer.ggml.merges", merges],
    ["tokenizer.ggml.bos_token_id", u32(v.bos)],
    ["tokenizer.ggml.eos_token_id", u32(v.eos)],
    ["tokenizer.ggml.eot_token_id", u32(v.eot)],
    ["tokenizer.ggml.padding_token_id", u32(v.pad)],
    ["tokenizer.ggml.add_bos_token", false],
    ["tokenizer.ggml.add_eos_token", false],
    ["tokenizer.chat_template", CHATML_TEMPLATE],
  ];
}
