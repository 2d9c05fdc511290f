/**
 * Pre-tokenization for the trainer and its encoder: text is first cut at special tokens, then
 * each ordinary span is split by the `qwen2` regex of llama.cpp (llama-vocab.cpp,
 * LLAMA_VOCAB_PRE_TYPE_QWEN2). That regex emits every digit as its own piece (`\p{N}` without
 * `+`), which keeps numbers digit-by-digit for arithmetic, and it is a pre-tokenizer name both
 * llama.cpp and our runtime tokenizer know, so the exported GGUF says `tokenizer.ggml.pre = qwen2`.
 */

export const PRE_TOKENIZER = "qwen2";

const QWEN2 =
  /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** Split ordinary text (no special tokens inside) into pre-tokens. */
export function preTokenize(text: string): string[] {
  return text.match(QWEN2) ?? [];
}

export type Piece = { special: true; text: string } | { special: false; text: string };

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Cuts text at any of `specials` (longest first), so they become single tokens. */
export function splitSpecials(text: string, specials: readonly string[]): Piece[] {
  if (specials.length === 0) return text ? [{ special: false, text }] : [];
  const sorted = [...specials].sort((a, b) => b.length - a.length);
  const re = new RegExp(sorted.map(escapeRe).join("|"), "g");
  const out: Piece[] = [];
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > last) out.push({ special: false, text: text.slice(last, m.index) });
    out.push({ special: true, text: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ special: false, text: text.slice(last) });
  return out;
}
