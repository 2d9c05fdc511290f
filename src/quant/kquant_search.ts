/**
 * The scale searches ggml's K-quant reference quantizers use (ggml-quants.c make_qx_quants,
 * make_q3_quants, make_qkx2_quants), written out with float32 rounding at every C operation so the
 * chosen scales and quants are the ones ggml chooses. Arrays are passed with offsets to avoid
 * allocating subarrays per group.
 */
import { fround, nearestInt, signedMax, GROUP_MAX_EPS } from "./cfloat.js";

/** [sum w*x*l, sum w*l*l] of the last fitPass (one array, reused: no allocation per candidate). */
const fitSums = new Float64Array(2);

/**
 * One pass of the signed searches at inverse scale `iscale`: l = clamp(round(iscale * x), -nmax,
 * nmax - 1) per weight, summed with weights w = x^2 in float32 as ggml does. Writes
 * L[lOff+i] = l + bias when L is given. Returns [sum w*x*l, sum w*l*l] (valid until the next call).
 */
function fitPass(
  n: number,
  nmax: number,
  iscale: number,
  x: Float32Array,
  xOff: number,
  L: Int8Array | null,
  lOff: number,
  bias: number,
): Float64Array {
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i];
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(fround(iscale * xi))));
    if (L) L[lOff + i] = l + bias;
    const w = fround(xi * xi);
    sumlx = fround(sumlx + fround(fround(w * xi) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  fitSums[0] = sumlx;
  fitSums[1] = suml2;
  return fitSums;
}

/**
 * Symmetric search for signed quants in [-nmax, nmax-1] (Q6_K uses nmax = 32, weights x^2).
 * Writes L[lOff+i] = q + nmax (0..2*nmax-1) and returns the scale: x ~ scale * (L - nmax).
 * Only rmse_type 1 without importance weights is implemented (the one the _ref quantizers use).
 */
export function makeQxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  xOff: number,
  L: Int8Array,
  lOff: number,
): number {
  const max = signedMax(x, xOff, n);
  if (Math.abs(max) < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    return 0;
  }
  let sums = fitPass(n, nmax, fround(-nmax / max), x, xOff, L, lOff, nmax);
  let scale = sums[1] ? fround(sums[0] / sums[1]) : 0;
  let best = fround(scale * sums[0]);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    const iscale = fround(-fround(nmax + fround(fround(0.1) * is)) / max);
    sums = fitPass(n, nmax, iscale, x, xOff, null, 0, 0);
    const sumlx = sums[0];
    const suml2 = sums[1];
    if (suml2 > 0 && fround(sumlx * sumlx) > fround(best * suml2)) {
      fitPass(n, nmax, iscale, x, xOff, L, lOff, nmax);
      scale = fround(sumlx / suml2);
      best = fround(scale * sumlx);
    }
  }
  return scale;
}

/**
 * Q3_K's search (make_q3_quants with do_rmse): start from the max-based scale, then for up to 5
 * rounds move single quants to the value that most improves the weighted (x^2) least-squares fit.
 * Writes L = q + nmax and returns the scale.
 */
export function makeQ3Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xOff: number,
  L: Int8Array,
  lOff: number,
): number {
  const max = signedMax(x, xOff, n);
  if (Math.abs(max) < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    return 0;
  }
  const sums = fitPass(n, nmax, fround(-nmax / max), x, xOff, L, lOff, 0);
  let sumlx = sums[0];
  let suml2 = sums[1];
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xOff + i];
      const li = L[lOff + i];
      const w = fround(xi * xi);
      let slx = fround(sumlx - fround(fround(w * xi) * li));
      if (slx > 0) {
        let sl2 = fround(suml2 - fround(fround(w * li) * li));
        let newL = nearestInt(fround(fround(xi * sl2) / slx));
        newL = Math.max(-nmax, Math.min(nmax - 1, newL));
        if (newL !== li) {
          slx = fround(slx + fround(fround(w * xi) * newL));
          sl2 = fround(sl2 + fround(fround(w * newL) * newL));
          if (sl2 > 0 && fround(fround(slx * slx) * suml2) > fround(fround(sumlx * sumlx) * sl2)) {
            L[lOff + i] = newL;
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (nChanged === 0) break;
  }
  for (let i = 0; i < n; i++) L[lOff + i] += nmax;
  return suml2 > 0 ? fround(sumlx / suml2) : 0;
}

/**
 * Asymmetric search for unsigned quants in [0, nmax] with a min (make_qkx2_quants): x ~ scale*L - m.
 * Tries nstep+1 candidate inverse scales (rmin + rdelta*is + nmax)/(max-min) and for each solves the
 * weighted least-squares scale and min, keeping the candidate with the lowest weighted error
 * (absolute error when useMad, squared otherwise). Writes L[lOff..] and mins[minIdx] = m (>= 0);
 * returns the scale. `weights` and `Laux` are scratch of length >= n.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xOff: number,
  weights: Float32Array,
  L: Uint8Array,
  lOff: number,
  mins: Float32Array,
  minIdx: number,
  Laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
): number {
  let min = x[xOff];
  let max = x[xOff];
  let sumW = weights[0];
  let sumX = fround(sumW * x[xOff]);
  for (let i = 1; i < n; i++) {
    const xi = x[xOff + i];
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i];
    sumW = fround(sumW + w);
    sumX = fround(sumX + fround(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    mins[minIdx] = -min;
    return 0;
  }
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i];
    const l = Math.max(0, Math.min(nmax, nearestInt(fround(iscale * fround(xi - min)))));
    L[lOff + i] = l;
    let diff = fround(fround(fround(scale * l) + min) - xi);
    diff = useMad ? Math.abs(diff) : fround(diff * diff);
    bestError = fround(bestError + fround(weights[i] * diff));
  }
  if (nstep < 1) {
    mins[minIdx] = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    // As in ggml, `min` is the best candidate's min so far (it is updated below), so later candidates
    // are centred on it rather than on the original minimum.
    iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / fround(max - min));
    let changed = is === 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(fround(iscale * fround(x[xOff + i] - min)))));
      if (l !== Laux[i]) {
        Laux[i] = l;
        changed = true;
      }
    }
    // Everything below depends only on Laux (and fixed sums), so a candidate whose quants equal the
    // previous candidate's reaches the same error and the same (already taken) decision: skip it.
    if (!changed) continue;
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Laux[i];
      const wl = fround(weights[i] * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * x[xOff + i]));
    }
    const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (D > 0) {
      let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
      let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fround(sumXL / sumL2);
      }
      let curError = 0;
      if (useMad) {
        for (let i = 0; i < n; i++) {
          const diff = fround(fround(fround(thisScale * Laux[i]) + thisMin) - x[xOff + i]);
          curError = fround(curError + fround(weights[i] * Math.abs(diff)));
        }
      } else {
        for (let i = 0; i < n; i++) {
          const diff = fround(fround(fround(thisScale * Laux[i]) + thisMin) - x[xOff + i]);
          curError = fround(curError + fround(weights[i] * fround(diff * diff)));
        }
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lOff + i] = Laux[i];
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  mins[minIdx] = -min;
  return scale;
}
