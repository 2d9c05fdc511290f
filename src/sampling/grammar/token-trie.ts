/**
 * The vocabulary as a byte trie laid out in preorder, for walking with the grammar automaton:
 * node i has `byte[i]` (the edge from its parent), `depth[i]` (1 = child of the root) and
 * `end[i]` (first node after its subtree), so a dead subtree is skipped with `i = end[i]`.
 * Tokens whose bytes equal the path to node i are `ids[tokStart[i] .. tokStart[i] + tokCount[i])`.
 *
 * Built by sorting the tokens' byte strings (latin1 strings compare byte-wise) and inserting them
 * in order, so construction is a sort plus one linear pass.
 */
import { InputError } from "../../errors.js";
import { bytesToLatin1 } from "./latin1.js";

export class TokenTrie {
  readonly byte: Uint8Array;
  readonly depth: Uint16Array;
  readonly end: Int32Array;
  readonly tokStart: Int32Array;
  readonly tokCount: Uint16Array;
  /** Token ids sorted by their bytes. */
  readonly ids: Int32Array;
  readonly nodeCount: number;
  readonly maxDepth: number;

  /** `pieces[id]` = the token's bytes; empty pieces are left out (they can never be matched). */
  constructor(pieces: ArrayLike<Uint8Array | undefined>) {
    const keyed: { id: number; key: string }[] = [];
    for (let id = 0; id < pieces.length; id++) {
      const p = pieces[id];
      if (!p || p.length === 0) continue;
      if (p.length > 0xffff) throw new InputError(`token ${id} is longer than 65535 bytes`);
      keyed.push({ id, key: bytesToLatin1(p) });
    }
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id - b.id));
    let cap = 0;
    for (const k of keyed) cap += k.key.length;
    const byte = new Uint8Array(cap);
    const depth = new Uint16Array(cap);
    const end = new Int32Array(cap);
    const tokStart = new Int32Array(cap).fill(-1);
    const tokCount = new Uint16Array(cap);
    const ids = new Int32Array(keyed.length);
    const path: number[] = []; // node index per depth-1
    let n = 0;
    let prev = "";
    let maxDepth = 0;
    keyed.forEach(({ id, key }, k) => {
      ids[k] = id;
      let common = 0;
      const lim = Math.min(prev.length, key.length);
      while (common < lim && prev.charCodeAt(common) === key.charCodeAt(common)) common++;
      // Close subtrees that diverge from this key.
      while (path.length > common) end[path.pop()!] = n;
      for (let d = common; d < key.length; d++) {
        byte[n] = key.charCodeAt(d);
        depth[n] = d + 1;
        path.push(n);
        n++;
      }
      const leaf = path[path.length - 1];
      if (tokStart[leaf] < 0) tokStart[leaf] = k;
      tokCount[leaf]++;
      if (key.length > maxDepth) maxDepth = key.length;
      prev = key;
    });
    while (path.length) end[path.pop()!] = n;
    this.byte = byte.slice(0, n);
    this.depth = depth.slice(0, n);
    this.end = end.slice(0, n);
    this.tokStart = tokStart.slice(0, n);
    this.tokCount = tokCount.slice(0, n);
    this.ids = ids;
    this.nodeCount = n;
    this.maxDepth = maxDepth;
  }
}
