// The training tests' gradient check: an analytic gradient against central finite differences.
import assert from "node:assert/strict";

export interface FdCheckOptions {
  /** Elements to check (default: every element of x). */
  idx?: number[];
  /** Step (default 1e-5). */
  h?: number;
  /** Largest relative error allowed (default 1e-6). */
  tol?: number;
  /** Floor of the relative error's denominator, max(floor, |numeric|, |analytic|) (default 1). */
  floor?: number;
}

/** Analytic gradient `g` of the scalar fn() w.r.t. the array `x` against the central difference
 *  (fn(x + h) - fn(x - h)) / 2h, element by element (x is restored after each). */
export function fdCheck(
  name: string,
  x: { [i: number]: number; readonly length: number },
  g: ArrayLike<number>,
  fn: () => number,
  o: FdCheckOptions = {},
): void {
  const { h = 1e-5, tol = 1e-6, floor = 1 } = o;
  const at = o.idx ?? Array.from({ length: x.length }, (_, i) => i);
  assert.ok(at.length > 0, `${name}: nothing to check`);
  for (const i of at) {
    const old = x[i]!;
    x[i] = old + h;
    const up = fn();
    x[i] = old - h;
    const dn = fn();
    x[i] = old;
    const num = (up - dn) / (2 * h);
    const err = Math.abs(num - g[i]!) / Math.max(floor, Math.abs(num), Math.abs(g[i]!));
    assert.ok(err < tol, `${name}[${i}]: analytic ${g[i]} vs numeric ${num} (rel err ${err})`);
  }
}
