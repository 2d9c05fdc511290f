/**
 * Code-point ranges -> UTF-8 byte-range sequences, so a character class such as [^"\\] can be
 * matched one byte at a time (the grammar engine and the token trie both work on bytes, which
 * lets a token that ends inside a multi-byte character be checked like any other).
 *
 * A range [lo, hi] is split until every piece has one encoded length and, at each continuation
 * position, either spans the full 0x80..0xBF range or shares the prefix above it; each piece then
 * encodes as a sequence of byte ranges [lo_byte_i, hi_byte_i]. Surrogates (D800..DFFF) are never
 * produced: UTF-8 cannot encode them.
 */

/** One byte position: inclusive byte range. */
export type ByteRange = readonly [number, number];
/** A UTF-8 encoded range: one ByteRange per encoded byte (length 1..4). */
export type ByteSeq = ByteRange[];

export const MAX_CODE_POINT = 0x10ffff;

function encode(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

function splitRange(lo: number, hi: number, out: ByteSeq[]): void {
  if (lo > hi) return;
  // Split at the encoded-length boundaries.
  for (const b of [0x7f, 0x7ff, 0xffff]) {
    if (lo <= b && hi > b) {
      splitRange(lo, b, out);
      splitRange(b + 1, hi, out);
      return;
    }
  }
  if (hi <= 0x7f) {
    out.push([[lo, hi]]);
    return;
  }
  // Make every continuation position either full-range or fixed by the prefix.
  for (let i = 1; i < 4; i++) {
    const m = (1 << (6 * i)) - 1;
    if ((lo & ~m) !== (hi & ~m)) {
      if ((lo & m) !== 0) {
        splitRange(lo, lo | m, out);
        splitRange((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) !== m) {
        splitRange(lo, (hi & ~m) - 1, out);
        splitRange(hi & ~m, hi, out);
        return;
      }
    }
  }
  const a = encode(lo);
  const b = encode(hi);
  out.push(a.map((x, i) => [x, b[i]] as ByteRange));
}

/** Sort and merge code-point ranges; drop surrogates. */
export function normalizeRanges(ranges: Iterable<readonly [number, number]>): [number, number][] {
  const pieces: [number, number][] = [];
  for (const [lo, hi] of ranges) {
    // Remove the surrogate block, which has no UTF-8 encoding.
    if (lo <= 0xdfff && hi >= 0xd800) {
      if (lo < 0xd800) pieces.push([lo, 0xd7ff]);
      if (hi > 0xdfff) pieces.push([0xe000, hi]);
    } else if (lo <= hi) pieces.push([lo, hi]);
  }
  pieces.sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (last && p[0] <= last[1] + 1) last[1] = Math.max(last[1], p[1]);
    else out.push([p[0], p[1]]);
  }
  return out;
}

/** Complement of code-point ranges within [0, MAX_CODE_POINT]. */
export function complementRanges(ranges: Iterable<readonly [number, number]>): [number, number][] {
  const n = normalizeRanges(ranges);
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of n) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return normalizeRanges(out);
}

/** UTF-8 byte-range sequences that together match exactly the given code points. */
export function utf8Sequences(ranges: Iterable<readonly [number, number]>): ByteSeq[] {
  const out: ByteSeq[] = [];
  for (const [lo, hi] of normalizeRanges(ranges)) splitRange(lo, hi, out);
  return out;
}
