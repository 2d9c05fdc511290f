/**
 * Hand-built SentencePiece vocabularies for the special-id rules (EOT/EOM/FIM roles from texts or
 * metadata, forced CONTROL, UNUSED marking, EOG texts, the Harmony <|end|> and Gemma 4 </s>
 * exceptions). Each is loaded by llama.cpp and by us, and every token's attributes and the EOG set
 * must agree, including which of several candidate texts a role gets (the reference's hash-map
 * order, reproduced by cxx-map-order.ts).
 */
import type { GGUFTokenizerRecord } from "../../src/tokenizer/convert-hf.js";
import { TokenType } from "../../src/tokenizer/vocab.js";

export interface SpecialIdCase {
  name: string;
  /** Extra tokens: text, or [text, GGUF token type]. Default type NORMAL. */
  tokens: (string | [string, TokenType])[];
  /** Extra metadata; values that are token texts are replaced by their ids. */
  ids?: Record<string, string>;
}

export const SPECIAL_ID_CASES: SpecialIdCase[] = [
  {
    name: "every EOG text, NORMAL in the GGUF, becomes CONTROL and EOG",
    tokens: [
      "<|eot_id|>",
      "<|im_end|>",
      "<end_of_turn>",
      "<|endoftext|>",
      "<|end_of_text|>",
      "<EOT>",
      "_<EOT>",
      "[EOT]",
      "[EOS]",
      "<end_of_utterance>",
      "<eos>",
      "<turn|>",
      "<｜end▁of▁sentence｜>",
      "[e~[",
      "<|eom_id|>",
    ],
  },
  {
    name: "several EOT texts: the reference's pick (its hash-map order), here <|endoftext|>",
    tokens: ["<|im_end|>", "<|endoftext|>"],
  },
  {
    name: "several EOT and FIM pad/repo texts among fillers: picks and EOG follow the map order",
    tokens: [
      ...Array.from({ length: 37 }, (_, i) => `w${i}`), // 37: the map order differs from list order for EOT, FIM pad and FIM prefix
      "<|endoftext|>",
      "<end_of_turn>",
      "<|im_end|>",
      "<|eot_id|>",
      "<PAD>",
      "[PAD]",
      "<fim_pad>",
      "<REPO>",
      "<|repo_name|>",
      "<PRE>",
      "▁<PRE>",
    ],
  },
  {
    name: "FIM roles from texts: control; pad/repo/separator end generation",
    tokens: ["<|fim_prefix|>", "<fim-suffix>", "<MID>", "[PAD]", "<reponame>", "<|file_sep|>", "<|eot_id|>"],
  },
  {
    name: "FIM and EOT roles from metadata win over texts and are not forced to CONTROL",
    tokens: ["xx", "yy", "zz", "ww", "<|fim_pad|>", "<|im_end|>", "<PRE>"],
    ids: {
      "tokenizer.ggml.fim_pad_token_id": "xx",
      "tokenizer.ggml.eot_token_id": "yy",
      "tokenizer.ggml.prefix_token_id": "zz",
      "tokenizer.ggml.fim_sep_token_id": "ww",
    },
  },
  {
    name: "Harmony: <|end|> is not EOG beside <|return|> and <|call|>",
    tokens: ["<|end|>", "<|return|>", "<|call|>"],
  },
  {
    name: "Harmony variant: <|return|> with <|calls|>",
    tokens: ["<|end|>", "<|return|>", "<|calls|>"],
  },
  {
    name: "Harmony variant: <|call|> with <|flush|>",
    tokens: ["<|end|>", "<|call|>", "<|flush|>"],
  },
  {
    name: "<|end|> stays EOG with <|return|> alone",
    tokens: ["<|end|>", "<|return|>"],
  },
  {
    name: "Gemma 4: </s> is ordinary text beside <|tool_response>",
    tokens: ["</s>", "<|tool_response>", "<turn|>"],
    ids: { "tokenizer.ggml.eos_token_id": "<turn|>" },
  },
  {
    name: "control tokens named unused are marked UNUSED, normal ones are not",
    tokens: [["<unused0>", TokenType.Control], ["<unused_99>", TokenType.Control], "unused", "<|im_end|>"],
  },
];

/** GGUF tokenizer metadata for a case: <unk>, <s>, </s>-free base, 256 byte tokens, then extras. */
export function specialIdsRecord(c: SpecialIdCase): GGUFTokenizerRecord {
  const tokens = ["<unk>", "<s>", "<|stop|>", "▁", "a"];
  const types: number[] = [
    TokenType.Unknown,
    TokenType.Control,
    TokenType.Control,
    TokenType.Normal,
    TokenType.Normal,
  ];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.Byte);
  }
  for (const t of c.tokens) {
    const [text, type] = typeof t === "string" ? [t, TokenType.Normal] : t;
    tokens.push(text);
    types.push(type);
  }
  const rec: GGUFTokenizerRecord = {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": new Float32Array(tokens.length),
    "tokenizer.ggml.token_type": Int32Array.from(types),
    "tokenizer.ggml.bos_token_id": 1,
    "tokenizer.ggml.eos_token_id": 2,
  };
  for (const [k, text] of Object.entries(c.ids ?? {})) {
    const id = tokens.indexOf(text);
    if (id < 0) throw new Error(`case '${c.name}': no token '${text}'`);
    rec[k] = id;
  }
  return rec;
}
