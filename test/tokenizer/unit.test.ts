/** Tokenizer behaviour on small hand-built vocabularies and error paths. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenizerError } from "../../src/errors.js";
import { preTokenize, preTokenizerFor } from "../../src/tokenizer/pretokenizers.js";
import { StreamDecoder } from "../../src/tokenizer/stream.js";
import { Tokenizer } from "../../src/tokenizer/tokenizer.js";
import { byteToUnicode } from "../../src/tokenizer/unicode.js";
import { TokenType } from "../../src/tokenizer/vocab.js";

/** A byte-level BPE vocab: all 256 byte chars, a few merges, two control tokens. */
function tinyBpe(pre = "llama-bpe"): Record<string, unknown> {
  const tokens = [...byteToUnicode];
  const merges = ["h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o"];
  for (const m of merges) tokens.push(m.replace(" ", ""));
  tokens.push("<|bos|>", "<|end|>");
  const types = new Int32Array(tokens.length).fill(TokenType.Normal);
  types[tokens.length - 2] = types[tokens.length - 1] = TokenType.Control;
  return {
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": pre,
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.token_type": types,
    "tokenizer.ggml.merges": merges,
    "tokenizer.ggml.bos_token_id": tokens.length - 2,
    "tokenizer.ggml.eos_token_id": tokens.length - 1,
  };
}

test("BPE merges by rank, special tokens only when asked, BOS from the llama3 family default", () => {
  const md = tinyBpe();
  const tok = Tokenizer.fromMetadata(md);
  const ids = tok.encode("hello wo");
  const toks = md["tokenizer.ggml.tokens"] as string[];
  assert.deepEqual(
    ids.map((i) => toks[i]),
    ["hello", "Ġwo"],
  );
  assert.equal(tok.decode(ids), "hello wo");
  // "<|end|>" is plain text unless parseSpecial.
  assert.ok(tok.encode("a<|end|>").length > 2);
  assert.deepEqual(tok.encode("a<|end|>", { parseSpecial: true }), [toks.indexOf("a"), tok.eos]);
  assert.deepEqual(tok.encode("he", { addSpecial: true })[0], tok.bos);
  assert.ok(tok.isEog(tok.eos));
  assert.equal(tok.decode([tok.eos]), "");
  assert.equal(tok.decode([tok.eos], { special: true }), "<|end|>");
});

test("unknown pre-tokenizer and malformed metadata are TokenizerErrors naming the field", () => {
  assert.throws(
    () => Tokenizer.fromMetadata(tinyBpe("no-such-pre")),
    (e: unknown) => e instanceof TokenizerError && /tokenizer\.ggml\.pre/.test(e.message),
  );
  assert.throws(() => Tokenizer.fromMetadata({ "tokenizer.ggml.model": "gpt2" }), /tokenizer\.ggml\.tokens/);
  assert.throws(
    () => Tokenizer.fromMetadata({ "tokenizer.ggml.model": "bert", "tokenizer.ggml.tokens": ["a"] }),
    /unsupported tokenizer model/,
  );
  const md = tinyBpe();
  md["tokenizer.ggml.token_type"] = new Int32Array(3);
  assert.throws(() => Tokenizer.fromMetadata(md), /token_type/);
  const md2 = tinyBpe();
  delete md2["tokenizer.ggml.merges"];
  assert.throws(() => Tokenizer.fromMetadata(md2), /merges/);
  assert.throws(() => Tokenizer.fromMetadata(tinyBpe()).decode([1e9]), /out of range/);
});

test("pre-tokenizer table: llama3 digits in threes, qwen2 single digits, reference whitespace set", () => {
  assert.deepEqual(preTokenize("12345 abc", preTokenizerFor("llama-bpe")), ["123", "45", " abc"]);
  assert.deepEqual(preTokenize("12345", preTokenizerFor("qwen2")), ["1", "2", "3", "4", "5"]);
  // U+0085 is whitespace for the reference (not for JS \s); U+FEFF is not.
  assert.deepEqual(preTokenize("a\u0085\u0085b", preTokenizerFor("llama-bpe")), ["a", "\u0085", "\u0085b"]);
  assert.deepEqual(preTokenize("\ufeffab", preTokenizerFor("llama-bpe")), ["\ufeffab"]);
  assert.deepEqual(preTokenize("我想在apple工作1314", preTokenizerFor("deepseek-v3")), [
    "我想在",
    "apple",
    "工作",
    "131",
    "4",
  ]);
  for (const p of ["default", "llama-bpe", "qwen2", "deepseek-llm", "deepseek-v3", "gpt-4o", "smollm"])
    assert.ok(preTokenizerFor(p).regexes.length > 0);
});

/** A SentencePiece vocab with byte fallback. */
function tinySpm(): Record<string, unknown> {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [TokenType.Unknown, TokenType.Control, TokenType.Control];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.Byte);
  }
  const pieces = ["▁", "h", "i", "▁h", "▁hi", "t", "▁t"];
  for (const p of pieces) {
    tokens.push(p);
    types.push(TokenType.Normal);
  }
  const scores = tokens.map((_t, i) => (i < 259 ? 0 : -i));
  return {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": Float32Array.from(scores),
    "tokenizer.ggml.token_type": Int32Array.from(types),
  };
}

test("SPM: space prefix, score-driven merges, byte fallback, streaming never splits a character", () => {
  const tok = Tokenizer.fromMetadata(tinySpm());
  const t = (s: string) => tok.tokenId(s)!;
  assert.deepEqual(tok.encode("hi"), [t("▁hi")]);
  assert.deepEqual(tok.encode("hi", { addSpecial: true }), [1, t("▁hi")]);
  const ids = tok.encode("hi 🦙");
  assert.deepEqual(ids.slice(0, 2), [t("▁hi"), t("▁")]);
  assert.equal(ids.length, 2 + 4, "the llama emoji falls back to its 4 UTF-8 bytes");
  assert.equal(tok.decode(ids), "hi 🦙");
  const s = new StreamDecoder(tok);
  const chunks = ids.map((id) => s.push(id));
  chunks.push(s.flush());
  assert.deepEqual(chunks, ["hi", " ", "", "", "", "🦙", ""]);
  // A stream cut mid-character flushes a replacement character rather than dropping it silently.
  const s2 = new StreamDecoder(tok);
  s2.push(ids[2]);
  assert.equal(s2.flush(), "\ufffd");
});

test("lone surrogates tokenize as U+FFFD, as the UTF-8 conversion the reference sees", () => {
  const tok = Tokenizer.fromMetadata(tinySpm());
  assert.deepEqual(tok.encode("\ud800"), tok.encode("\ufffd"));
});
