/**
 * Token types as GGUF stores them and the attribute bits the tokenizer derives from them. Its own
 * module so that vocab.ts and special-ids.ts both read it without importing each other.
 */
/** GGUF tokenizer.ggml.token_type values. */
export enum TokenType {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

/** Per-token attribute bits (derived from the token type, plus fix-ups for well-known tokens). */
export const Attr = {
  Unknown: 1 << 0,
  Unused: 1 << 1,
  Normal: 1 << 2,
  Control: 1 << 3,
  UserDefined: 1 << 4,
  Byte: 1 << 5,
  Lstrip: 1 << 7,
  Rstrip: 1 << 8,
} as const;
