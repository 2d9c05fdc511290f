/**
 * The encoder's objective: each output row should be the language model's input embedding of the
 * token its cell stands for. With the K candidate embeddings Ec (K, E) (a digit, " +", " -", the
 * blank " "), per row n with target y[n] and weight w[n] (glyph cells weigh more than blanks):
 *   ce  = sum_n w[n] * -log softmax(row_n . Ec^T)[y[n]] / sum(w)
 *   mse = sum_n w[n] * |row_n - Ec[y[n]]|^2 / (sum(w) * E)
 *   loss = ce + lambda * mse
 * With `metric: "dist"` the logits are -tau * |row_n - Ec[k]|^2 instead of dot products: the
 * softmax then picks the nearest candidate, as the rows are read (nearest embedding), and a row at
 * its target already has a confident, near-zero-gradient CE, so the CE's gradient comes from the
 * cells near a wrong candidate instead of pushing every row's scale up against the squared error.
 * The gradient d(loss)/d(rows) is written to `drows` when given.
 */
import type { Buf } from "../ops/buf.js";

export interface CellLossOptions {
  /** weight of the squared-error term */
  lambda: number;
  /** weight of rows whose target is not `blank` (blanks weigh 1) */
  glyphWeight: number;
  blank: number;
  /** "dot" (default): logits row . Ec[k]; "dist": logits -tau * |row - Ec[k]|^2 */
  metric?: "dot" | "dist";
  /** scale of the "dist" logits (default 8) */
  tau?: number;
}

export interface CellLossResult {
  loss: number;
  ce: number;
  mse: number;
  /** rows whose nearest candidate by logit is the target */
  correct: number;
  /** argmax candidate of each row */
  pred: Int32Array;
}

export function cellLoss(
  rows: Buf,
  targets: Int32Array,
  Ec: Buf,
  K: number,
  E: number,
  o: CellLossOptions,
  drows: Buf | null,
): CellLossResult {
  const N = targets.length;
  let wsum = 0;
  for (let n = 0; n < N; n++) wsum += targets[n] === o.blank ? 1 : o.glyphWeight;
  const dist = o.metric === "dist";
  const tau = o.tau ?? 8;
  const logits = new Float64Array(K);
  const mix = new Float64Array(E);
  const pred = new Int32Array(N);
  let ce = 0;
  let se = 0;
  let correct = 0;
  for (let n = 0; n < N; n++) {
    const r = n * E;
    const y = targets[n];
    const w = y === o.blank ? 1 : o.glyphWeight;
    let mx = -Infinity;
    let arg = 0;
    for (let k = 0; k < K; k++) {
      let d = 0;
      if (dist) {
        for (let i = 0; i < E; i++) {
          const e = rows[r + i] - Ec[k * E + i];
          d += e * e;
        }
        d *= -tau;
      } else for (let i = 0; i < E; i++) d += rows[r + i] * Ec[k * E + i];
      logits[k] = d;
      if (d > mx) [mx, arg] = [d, k];
    }
    pred[n] = arg;
    if (arg === y) correct++;
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(logits[k] - mx);
    const lse = mx + Math.log(sum);
    ce += (w * (lse - logits[y])) / wsum;
    for (let i = 0; i < E; i++) {
      const d = rows[r + i] - Ec[y * E + i];
      se += w * d * d;
    }
    if (drows) {
      const kc = w / wsum;
      const km = (o.lambda * 2 * w) / (wsum * E);
      for (let i = 0; i < E; i++) drows[r + i] = km * (rows[r + i] - Ec[y * E + i]);
      // d(logit_k)/d(row) is Ec[k] ("dot") or 2 tau (Ec[k] - row) ("dist"); the row term cancels
      // in the sum over k (the softmax gradient sums to zero), leaving 2 tau sum_k g_k Ec[k].
      const s = dist ? 2 * tau : 1;
      mix.fill(0);
      for (let k = 0; k < K; k++) {
        const g = kc * s * (Math.exp(logits[k] - lse) - (k === y ? 1 : 0));
        for (let i = 0; i < E; i++) mix[i] += g * Ec[k * E + i];
      }
      for (let i = 0; i < E; i++) drows[r + i] += mix[i];
    }
  }
  const mse = se / (wsum * E);
  return { loss: ce + o.lambda * mse, ce, mse, correct, pred };
}
