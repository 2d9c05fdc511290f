/**
 * A small built-in SentencePiece-style vocabulary ("llama" tokenizer model in llama.cpp terms) for
 * test models: <unk>, <s>, </s>, the 256 byte-fallback tokens <0x00>..<0xFF>, then ▁-prefixed
 * word pieces with decreasing scores. Every prefix of every "▁word" is present, so llama.cpp's SPM
 * merge loop (highest-score bigram first) can build each word from its characters.
 */
import { GGUFTypedValue, GGUFValueType, typed, type GGUFMetaValue } from "../../gguf/value.js";

/** llama.cpp `llama_token_type` (token_type array values). */
export enum TokenType {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

export type VocabMetadata = Record<string, GGUFMetaValue | GGUFTypedValue>;

const SPACE = "\u2581"; // ▁, SentencePiece's word-boundary marker

const WORDS = (
  "the of and to in a is that for it as was with be by on not he this are or his from at which but have an " +
  "they you were her she there been one all we their has would when if so no will can more about what up " +
  "out who them some could him into its then two time only like other than new these also may after first " +
  "hello world llama model token language small test edge run fast code text data file read write over " +
  "once upon there lived little girl boy day went said very good great happy play friend home sun"
).split(" ");

const CHARS =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?;:'\"-()[]{}<>/\\@#$%^&*_+=|~`";

export const DEFAULT_VOCAB_MIN_SIZE = 259; // 3 specials + 256 bytes, before word pieces

/**
 * Build the default vocab's `tokenizer.ggml.*` metadata with exactly `size` tokens (when size is
 * larger than the natural piece list, filler pieces "▁w<N>" are appended; when smaller, pieces
 * are dropped from the end).
 */
export function defaultVocab(size?: number): VocabMetadata {
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.BYTE);
  }
  const seen = new Set(tokens);
  const pieces: string[] = [SPACE, ...CHARS];
  for (const w of WORDS) {
    const full = SPACE + w;
    for (let i = 2; i <= full.length; i++) pieces.push(full.slice(0, i));
  }
  for (const p of pieces) {
    if (seen.has(p)) continue;
    seen.add(p);
    tokens.push(p);
    types.push(TokenType.NORMAL);
  }
  const target = size ?? tokens.length;
  if (target < DEFAULT_VOCAB_MIN_SIZE)
    throw new RangeError(`default vocab needs at least ${DEFAULT_VOCAB_MIN_SIZE} tokens, asked ${target}`);
  for (let i = 0; tokens.length < target; i++) {
    const p = `${SPACE}w${i}`;
    if (seen.has(p)) continue;
    tokens.push(p);
    types.push(TokenType.NORMAL);
  }
  tokens.length = target;
  types.length = target;
  // Specials and bytes score 0; pieces get decreasing scores so earlier (shorter, commoner) merge first.
  const scores = new Float32Array(target);
  for (let i = DEFAULT_VOCAB_MIN_SIZE; i < target; i++) scores[i] = -(i - DEFAULT_VOCAB_MIN_SIZE);
  return {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": scores,
    "tokenizer.ggml.token_type": new Int32Array(types),
    "tokenizer.ggml.unknown_token_id": typed(GGUFValueType.UINT32, 0),
    "tokenizer.ggml.bos_token_id": typed(GGUFValueType.UINT32, 1),
    "tokenizer.ggml.eos_token_id": typed(GGUFValueType.UINT32, 2),
    "tokenizer.ggml.add_bos_token": true,
    "tokenizer.ggml.add_eos_token": false,
  };
}

/** Number of tokens in a `tokenizer.ggml.*` record (length of tokenizer.ggml.tokens). */
export function vocabSize(vocab: VocabMetadata): number {
  const t = vocab["tokenizer.ggml.tokens"];
  const arr = t instanceof GGUFTypedValue ? t.value : t;
  if (!Array.isArray(arr)) throw new RangeError("vocab has no tokenizer.ggml.tokens string array");
  return arr.length;
}
