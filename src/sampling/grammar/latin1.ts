/**
 * Byte strings without Node's Buffer (the grammar engine runs in browsers too): a byte sequence
 * as a JS string of char codes 0..255, the same as Buffer's "latin1" encoding.
 */
const utf8 = new TextEncoder();

/** Bytes -> one char per byte. */
export function bytesToLatin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** One char per byte -> bytes (chars above 255 keep their low byte, as Buffer does). */
export function latin1ToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** A string's UTF-8 bytes as a latin1 string. */
export function utf8Latin1(s: string): string {
  return bytesToLatin1(utf8.encode(s));
}

export function utf8Bytes(s: string): Uint8Array {
  return utf8.encode(s);
}
