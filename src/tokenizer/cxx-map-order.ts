/**
 * The iteration order of the reference's `std::unordered_map<std::string, llama_token>` (its
 * text -> id map, filled in id order), as GNU libstdc++ lays it out. llama.cpp picks a role's token
 * (EOT, FIM, ...) as the first listed text it meets while iterating that map, so where a vocabulary
 * holds several texts of one role, this order decides which. (Other C++ libraries order their maps
 * differently; this follows the Linux builds the tests run against.)
 *
 * libstdc++ keeps all nodes in one singly linked list, grouped by bucket. A node entering an
 * empty bucket goes to the front of the whole list; otherwise to the front of its bucket's group.
 * Growing the table re-links the list in that same way, walking the old order. Hash: 64-bit
 * std::_Hash_bytes (a MurmurHash2 variant) over the UTF-8 bytes with seed 0xc70f6907; buckets:
 * hash mod count, the count growing through the fixed sequence below (max load factor 1).
 */

// 64-bit arithmetic on (hi, lo) uint32 halves: BigInt is ~10x slower and this runs per token.
const MUL_HI = 0xc6a4a793;
const MUL_LO = 0x5bd1e995;
const SEED = 0xc70f6907;

/** High 32 bits of the 64-bit product of two uint32 values (16-bit pieces stay exact in doubles). */
function mulHi32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + Math.floor(p01 / 65536) + Math.floor(p10 / 65536) + Math.floor(mid / 65536)) >>> 0;
}

/** Scratch 64-bit register: [hi, lo]. */
const R = new Uint32Array(2);

/** R = (hi, lo) * MUL mod 2^64. */
function mulByMul(hi: number, lo: number): void {
  R[0] = mulHi32(lo, MUL_LO) + Math.imul(hi, MUL_LO) + Math.imul(lo, MUL_HI);
  R[1] = Math.imul(lo, MUL_LO);
}

/**
 * std::hash<std::string> of libstdc++ on a 64-bit target, for the given bytes; written to
 * out[at] (high 32 bits) and out[at + 1] (low 32 bits).
 */
export function cxxStringHash(b: Uint8Array, out: Uint32Array, at = 0): void {
  const len = b.length;
  const aligned = len & ~7;
  // h = SEED ^ (len * MUL)
  mulByMul(0, len);
  let hi = R[0];
  let lo = (R[1] ^ SEED) >>> 0;
  for (let p = 0; p < aligned; p += 8) {
    const dLo = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
    const dHi = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24)) >>> 0;
    // data = shift_mix(d * MUL) * MUL, where shift_mix(v) = v ^ (v >> 47)
    mulByMul(dHi, dLo);
    mulByMul(R[0], (R[1] ^ (R[0] >>> 15)) >>> 0);
    // h = (h ^ data) * MUL
    mulByMul((hi ^ R[0]) >>> 0, (lo ^ R[1]) >>> 0);
    hi = R[0];
    lo = R[1];
  }
  if (len & 7) {
    // The 1..7 trailing bytes as a little-endian integer.
    let dHi = 0;
    let dLo = 0;
    for (let p = len - 1; p >= aligned; p--) {
      dHi = ((dHi << 8) | (dLo >>> 24)) >>> 0;
      dLo = ((dLo << 8) | b[p]) >>> 0;
    }
    mulByMul((hi ^ dHi) >>> 0, (lo ^ dLo) >>> 0);
    hi = R[0];
    lo = R[1];
  }
  mulByMul(hi, (lo ^ (hi >>> 15)) >>> 0);
  out[at] = R[0];
  out[at + 1] = (R[1] ^ (R[0] >>> 15)) >>> 0;
}

/**
 * Bucket counts the table grows through while elements are inserted one at a time: 13 buckets for
 * the first element, then the next count once the element count would exceed the current one.
 * (Measured from libstdc++ with g++; each is the library's next listed prime >= twice the last.)
 */
const BUCKET_COUNTS = [
  13, 29, 59, 127, 257, 541, 1109, 2357, 5087, 10273, 20753, 42043, 85229, 172933, 351061, 712697, 1447153,
  2938679,
];

const EMPTY = -2; // bucket without nodes
const BEFORE_BEGIN = -1; // the list head sentinel, as a "node before" reference

/**
 * Iteration order of a map built by `m[keys[i]] = i` for i = 0..n-1 (a repeated key keeps its
 * first node). Returns the key indices of the nodes (first occurrences) in iteration order, or
 * undefined for more keys than BUCKET_COUNTS covers. `distinct`: the keys are known to be unique.
 */
export function cxxMapOrder(keys: readonly string[], distinct = false): Int32Array | undefined {
  // node -> index of its key; with `distinct` (the caller knows there are no repeats) the identity.
  let keyIndex: ArrayLike<number>;
  if (distinct) {
    keyIndex = new Int32Array(keys.length).map((_, i) => i);
  } else {
    const seen = new Set<string>();
    const idx: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      if (seen.has(keys[i])) continue;
      seen.add(keys[i]);
      idx.push(i);
    }
    keyIndex = idx;
  }
  const n = keyIndex.length;
  if (n > BUCKET_COUNTS[BUCKET_COUNTS.length - 1]) return undefined;
  const enc = new TextEncoder();
  let buf = new Uint8Array(256);
  const hashes = new Uint32Array(2 * n); // node k: [hi, lo]
  for (let k = 0; k < n; k++) {
    const key = keys[keyIndex[k]];
    if (buf.length < 3 * key.length) buf = new Uint8Array(3 * key.length);
    const { written } = enc.encodeInto(key, buf);
    cxxStringHash(buf.subarray(0, written), hashes, 2 * k);
  }

  const next = new Int32Array(n).fill(-1);
  let head = -1;
  let nBkt = 1;
  let buckets = new Int32Array(1).fill(EMPTY);
  let level = -1; // index into BUCKET_COUNTS of nBkt
  // (hi * 2^32 + lo) mod count; count < 2^22, so every product stays exact in a double.
  const bucketOf = (node: number, count: number): number =>
    ((((hashes[2 * node] % count) * (2 ** 32 % count)) % count) + (hashes[2 * node + 1] % count)) % count;
  // The node after `before` (BEFORE_BEGIN = the list head) and re-linking after it.
  const after = (before: number): number => (before === BEFORE_BEGIN ? head : next[before]);
  const linkAfter = (before: number, node: number): void => {
    if (before === BEFORE_BEGIN) head = node;
    else next[before] = node;
  };

  for (let x = 0; x < n; x++) {
    if (level < 0 || x + 1 > nBkt) {
      // Grow: walk the old list, each node to the front of the list (new bucket) or of its group.
      level++;
      nBkt = BUCKET_COUNTS[level];
      const nb = new Int32Array(nBkt).fill(EMPTY);
      let p = head;
      head = -1;
      let firstBkt = 0; // bucket of the node currently at the list front
      while (p !== -1) {
        const pNext = next[p];
        const b = bucketOf(p, nBkt);
        if (nb[b] === EMPTY) {
          next[p] = head;
          head = p;
          nb[b] = BEFORE_BEGIN;
          if (next[p] !== -1) nb[firstBkt] = p;
          firstBkt = b;
        } else {
          next[p] = after(nb[b]);
          linkAfter(nb[b], p);
        }
        p = pNext;
      }
      buckets = nb;
    }
    const b = bucketOf(x, nBkt);
    if (buckets[b] !== EMPTY) {
      next[x] = after(buckets[b]);
      linkAfter(buckets[b], x);
    } else {
      next[x] = head;
      head = x;
      if (next[x] !== -1) buckets[bucketOf(next[x], nBkt)] = x;
      buckets[b] = BEFORE_BEGIN;
    }
  }
  const order = new Int32Array(n);
  for (let p = head, k = 0; p !== -1; p = next[p]) order[k++] = keyIndex[p];
  return order;
}
