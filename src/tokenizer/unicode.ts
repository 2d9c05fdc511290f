/**
 * Unicode and byte helpers shared by the tokenizers.
 *
 * - The GPT-2 byte <-> unicode map: byte-level BPE vocabularies store every token as a string in
 *   which each raw byte is replaced by one printable code point (printable Latin-1 bytes map to
 *   themselves, the other 68 bytes to U+0100..U+0143 in byte order).
 * - The whitespace set the reference (llama.cpp) uses for `\s` in its pre-tokenizer regexes. It is
 *   not JavaScript's `\s`: it contains U+0085 and leaves out U+FEFF.
 */

const utf8Encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is content, not a byte-order mark to strip.
const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as N-API's Utf8Value does). */
export function utf8Encode(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** Decode UTF-8 bytes; invalid sequences become U+FFFD. */
export function utf8Decode(b: Uint8Array): string {
  return utf8Decoder.decode(b);
}

/** byteToUnicode[b] = the one-char string that stands for byte b in byte-level BPE token text. */
export const byteToUnicode: readonly string[] = (() => {
  const out: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = printable ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return out;
})();

/** Inverse of byteToUnicode, indexed by UTF-16 code unit (all mapped chars are < U+0144). */
export const unicodeToByte: Int16Array = (() => {
  const t = new Int16Array(0x144).fill(-1);
  for (let b = 0; b < 256; b++) t[byteToUnicode[b].charCodeAt(0)] = b;
  return t;
})();

/** Byte-encode a (well-formed) string: its UTF-8 bytes, each replaced by its GPT-2 char. */
export function byteEncode(s: string): string {
  // Fast path: printable ASCII maps to itself.
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s;
  const bytes = utf8Encode(s);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += byteToUnicode[bytes[i]];
  return out;
}

/**
 * Bytes of a byte-level token text. A char outside the map is not a byte; the reference writes
 * "[UNK_BYTE_0x..]" for it, which we reproduce so decode output matches.
 */
export function byteDecodeToBytes(text: string, out: number[]): void {
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const b = c < unicodeToByte.length ? unicodeToByte[c] : -1;
    if (b >= 0) {
      out.push(b);
    } else {
      const u = utf8Encode(ch);
      const marker =
        "[UNK_BYTE_0x" + Array.from(u, (x) => x.toString(16).padStart(2, "0")).join("") + text + "]";
      for (const x of utf8Encode(marker)) out.push(x);
    }
  }
}

/** The reference's whitespace code points (its `\s`), as the body of a regex character class. */
export const WS_CLASS_BODY =
  "\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

/** Length in bytes of the UTF-8 sequence starting with lead byte b (1 for stray continuation bytes). */
export function utf8SeqLen(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xf0) return 4;
  if (b >= 0xe0) return 3;
  if (b >= 0xc0) return 2;
  return 1;
}
