/**
 * Speculative sampling (Leviathan et al. 2023, Chen et al. 2023): k tokens drawn from a draft
 * distribution q are checked against the target distribution p, row by row. Draft token d_i is
 * kept with probability min(1, p_i(d_i) / q_i(d_i)); at the first rejection the replacement is
 * drawn from the residual max(0, p_i − q_i), normalized; when every draft is kept one more token
 * is drawn from p_k. Each emitted token is then distributed exactly as p (the target's sampling
 * distribution after its processors), whatever q is.
 */

/** Dense probabilities over the vocabulary (index = token id). */
export type Dist = Float64Array;

export interface SpeculativeResult {
  /** Draft tokens kept (a prefix of the draft). */
  accepted: number;
  /** The token after them: the residual's draw at a rejection, else a draw from p_k. */
  next: number;
}

/**
 * One accept/reject pass. p(i) gives the target distribution of row i (0..k, with history =
 * context + draft[0..i)), q[i] the draft distribution draft[i] was drawn from, rand a uniform
 * [0, 1) source. p is called lazily (rows past a rejection are never computed).
 */
export function speculativeAccept(
  p: (i: number) => Dist,
  /** undefined at row i: a deterministic proposal (one-hot at draft[i], e.g. prompt lookup). */
  q: readonly (Dist | undefined)[],
  draft: readonly number[],
  rand: () => number,
): SpeculativeResult {
  const k = draft.length;
  for (let i = 0; i < k; i++) {
    const pi = p(i);
    const qi = q[i];
    const d = draft[i];
    const qd = qi ? qi[d] : 1;
    const ratio = qd > 0 ? pi[d] / qd : 0;
    if (ratio >= 1 || rand() < ratio) continue;
    // Rejected: draw from max(0, p − q), normalized.
    const qt = (t: number) => (qi ? qi[t] : t === d ? 1 : 0);
    let z = 0;
    for (let t = 0; t < pi.length; t++) {
      const r = pi[t] - qt(t);
      if (r > 0) z += r;
    }
    if (!(z > 0)) return { accepted: i, next: drawDist(pi, rand) }; // p == q up to rounding
    let u = rand() * z;
    let last = -1;
    for (let t = 0; t < pi.length; t++) {
      const r = pi[t] - qt(t);
      if (r <= 0) continue;
      last = t;
      u -= r;
      if (u < 0) return { accepted: i, next: t };
    }
    return { accepted: i, next: last };
  }
  return { accepted: k, next: drawDist(p(k), rand) };
}

/** A draw from a dense distribution. */
export function drawDist(p: Dist, rand: () => number): number {
  let u = rand();
  let last = 0;
  for (let t = 0; t < p.length; t++) {
    if (p[t] <= 0) continue;
    last = t;
    u -= p[t];
    if (u < 0) return t;
  }
  return last; // rounding left a sliver of mass
}
