/**
 * Top-k / min-p / top-p select and sort only the prefix they keep (Candidates.sortPrefix): the
 * result must equal the full sort's, entry for entry, on random logits with many ties, for every k.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Candidates } from "../../src/sampling/candidates.js";
import { MinP, TopK, TopP } from "../../src/sampling/processors.js";
import { Rng } from "../../src/sampling/rng.js";

function randomLogits(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  // coarse values so ties are common; a few -Infinity (masked) entries
  for (let i = 0; i < n; i++) x[i] = rng.uniform() < 0.05 ? -Infinity : Math.round(rng.uniform() * 40) / 4;
  return x;
}

test("sortPrefix(k): the first k entries equal the full sort's first k (ties by id), the rest keep the others", () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rng.uniform() * 300);
    const logits = randomLogits(rng, n);
    const k = 1 + Math.floor(rng.uniform() * n);
    const full = Candidates.fromLogits(logits);
    full.sort();
    const part = Candidates.fromLogits(logits);
    part.sortPrefix(k);
    assert.deepEqual(
      Array.from(part.ids.subarray(0, k)),
      Array.from(full.ids.subarray(0, k)),
      `n ${n} k ${k}`,
    );
    assert.deepEqual(
      Array.from(part.ids).sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
    );
  }
});

test("top-k, min-p and top-p keep exactly what a full sort keeps, in the same order", () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 150; trial++) {
    const n = 100 + Math.floor(rng.uniform() * 5000); // > every k below (top-k with k >= n is a no-op)
    const logits = randomLogits(rng, n);
    const procs = [
      new TopK(1 + Math.floor(rng.uniform() * 80)),
      new MinP(rng.uniform() * 0.9),
      new TopP(0.05 + rng.uniform() * 0.9),
    ];
    for (const p of procs) {
      const c = Candidates.fromLogits(logits);
      p.apply(c);
      // reference: full sort, then the textbook cut on the sorted list
      const r = Candidates.fromLogits(logits);
      r.sort();
      let keep = r.size;
      if (p instanceof TopK) keep = Math.min((p as unknown as { k: number }).k, r.size);
      else if (p instanceof MinP) {
        const min = r.logits[0] + Math.log((p as unknown as { p: number }).p);
        keep = 1;
        while (keep < r.size && r.logits[keep] >= min) keep++;
      } else {
        const pr = r.probs();
        let cum = 0;
        for (let i = 0; i < r.size; i++) {
          cum += pr[i];
          if (cum >= (p as unknown as { p: number }).p) {
            keep = i + 1;
            break;
          }
        }
      }
      assert.equal(c.size, keep, `${p.name} n ${n}`);
      assert.deepEqual(Array.from(c.ids.subarray(0, c.size)), Array.from(r.ids.subarray(0, keep)), p.name);
      assert.ok(c.sorted);
    }
  }
});
