/**
 * GPT-2 byte-level alphabet: every byte maps to one printable Unicode character, so a token's
 * bytes are stored as a string in `tokenizer.ggml.tokens` / `merges` (the form llama.cpp's gpt2
 * vocab and Hugging Face tokenizer.json use). Printable Latin-1 bytes map to themselves; the other
 * 68 bytes map to U+0100.. in byte order.
 */

function buildTable(): string[] {
  const keep = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const t: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    t[b] = keep(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  }
  return t;
}

/** byte value -> its one-character form */
export const BYTE_TO_CHAR: readonly string[] = buildTable();

export function bytesToSymbolString(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}
