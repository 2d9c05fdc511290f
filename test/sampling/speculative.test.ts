// Speculative sampling's accept/reject (sampling/speculative.ts): the tokens it emits follow the
// target's distribution p whatever the draft distribution q is. Checked by chi-square against p
// computed here (not by our sampler): the first emitted token, and the first two emitted tokens
// jointly when p depends on the history, driving the generator the way the engine does (a new
// draft from q after every call) with model-free distributions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { drawDist, speculativeAccept, type Dist } from "../../src/sampling/speculative.js";
import { Rng } from "../../src/sampling/rng.js";

const V = 6;

/** A distribution over V tokens from a seed (some zeros, so residuals and supports differ). */
function dist(seed: number, zeros = 1): Dist {
  const r = new Rng(seed);
  const d = new Float64Array(V);
  for (let t = 0; t < V; t++) d[t] = 0.05 + r.uniform() ** 2;
  for (let z = 0; z < zeros; z++) d[(seed * 7 + z * 3) % V] = 0;
  const s = d.reduce((a, b) => a + b, 0);
  return d.map((x) => x / s);
}

/** Target distribution after a history (depends on the last two tokens). */
const target = (hist: readonly number[]) => dist(1000 + (hist.at(-1) ?? 9) * 31 + (hist.at(-2) ?? 9) * 7, 1);
/** Draft distribution after a history: another, unrelated function of it. */
const draftOf = (hist: readonly number[]) => dist(50 + (hist.at(-1) ?? 9) * 13, 2);

/** Emit tokens until `n` are out: draft k from q, accept/reject against p, as the engine does. */
function generate(n: number, k: number, rng: Rng, deterministicDraft: boolean): number[] {
  const out: number[] = [];
  const rand = () => rng.next();
  while (out.length < n) {
    const draft: number[] = [];
    const q: (Dist | undefined)[] = [];
    const h = out.slice();
    for (let i = 0; i < k; i++) {
      const qi = draftOf(h);
      // A deterministic proposal (prompt lookup) is one-hot: q undefined, the draft its argmax.
      const d = deterministicDraft ? qi.indexOf(Math.max(...qi)) : drawDist(qi, rand);
      q.push(deterministicDraft ? undefined : qi);
      draft.push(d);
      h.push(d);
    }
    const res = speculativeAccept((i) => target([...out, ...draft.slice(0, i)]), q, draft, rand);
    out.push(...draft.slice(0, res.accepted), res.next);
  }
  return out.slice(0, n);
}

function chiSquare(counts: number[], expected: number[]): { chi: number; dof: number } {
  let chi = 0;
  let dof = -1;
  for (let i = 0; i < counts.length; i++) {
    if (expected[i] === 0) {
      assert.equal(counts[i], 0, `a token with probability 0 was emitted (cell ${i})`);
      continue;
    }
    chi += (counts[i] - expected[i]) ** 2 / expected[i];
    dof++;
  }
  return { chi, dof };
}

// chi-square critical values at p = 0.001
const CRIT: Record<number, number> = { 4: 18.47, 5: 20.52 };
function critical(dof: number): number {
  // Wilson–Hilferty approximation of the 0.999 quantile for larger dof (z = 3.090).
  return CRIT[dof] ?? dof * (1 - 2 / (9 * dof) + 3.09 * Math.sqrt(2 / (9 * dof))) ** 3;
}

for (const det of [false, true]) {
  test(`first two emitted tokens follow the target's joint distribution (${det ? "one-hot drafts" : "drafts from q"}, k = 3)`, () => {
    const N = 30000;
    const rng = new Rng(det ? 11 : 12);
    const counts = new Array(V * V).fill(0);
    const first = new Array(V).fill(0);
    for (let s = 0; s < N; s++) {
      const [a, b] = generate(2, 3, rng, det);
      counts[a * V + b]++;
      first[a]++;
    }
    const p0 = target([]);
    const joint: number[] = [];
    for (let a = 0; a < V; a++) {
      const p1 = target([a]);
      for (let b = 0; b < V; b++) joint.push(N * p0[a] * p1[b]);
    }
    const f = chiSquare(
      first,
      Array.from(p0, (x) => N * x),
    );
    assert.ok(f.chi < critical(f.dof), `first token chi2 ${f.chi.toFixed(1)} (${f.dof} dof)`);
    const j = chiSquare(counts, joint);
    assert.ok(j.chi < critical(j.dof), `joint chi2 ${j.chi.toFixed(1)} (${j.dof} dof)`);
  });
}

test("the check can fail: always keeping the drafts gives the draft's distribution, far from p", () => {
  const N = 20000;
  const rng = new Rng(3);
  const first = new Array(V).fill(0);
  for (let s = 0; s < N; s++) first[drawDist(draftOf([]), () => rng.next())]++;
  const p0 = target([]);
  let chi = 0;
  for (let t = 0; t < V; t++) if (p0[t] > 0) chi += (first[t] - N * p0[t]) ** 2 / (N * p0[t]);
  assert.ok(chi > 1000, `chi2 ${chi}`);
});

test("identical p and q keep every draft; a zero-probability draft is always rejected", () => {
  const p = dist(5, 1);
  const rng = new Rng(1);
  const res = speculativeAccept(
    () => p,
    [p, p],
    [1, 2],
    () => rng.next(),
  );
  assert.equal(res.accepted, 2);
  const zero = p.indexOf(0);
  for (let i = 0; i < 50; i++) {
    const r = speculativeAccept(
      () => p,
      [undefined],
      [zero],
      () => rng.next(),
    );
    assert.equal(r.accepted, 0);
    assert.notEqual(r.next, zero);
  }
});
