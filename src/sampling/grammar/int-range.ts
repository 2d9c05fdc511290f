/**
 * GBNF expression for the decimal integers in [lo, hi] (no leading zeros, "-" for negatives),
 * for JSON Schema minimum/maximum. Magnitudes are capped at MAX_INT_DIGITS digits, which keeps
 * every value exactly representable as a JS number (10^15 - 1 < 2^53).
 *
 * Equal-length ranges [X, Y] split on the first digit: X0 followed by [X', 99..9], the digits
 * strictly between X0 and Y0 followed by any digits, and Y0 followed by [00..0, Y'].
 */
export const MAX_INT_DIGITS = 15;
export const MAX_INT = 10 ** MAX_INT_DIGITS - 1;

function digitClass(a: number, b: number): string {
  return a === b ? `"${a}"` : `[${a}-${b}]`;
}

function anyDigits(n: number): string {
  return n === 0 ? "" : n === 1 ? " [0-9]" : ` [0-9]{${n}}`;
}

/** Same-length digit strings x <= y: alternatives matching exactly the numbers between them. */
function sameLength(x: string, y: string): string[] {
  const n = x.length;
  if (n === 1) return [digitClass(+x, +y)];
  const x0 = +x[0];
  const y0 = +y[0];
  const xr = x.slice(1);
  const yr = y.slice(1);
  if (/^0*$/.test(xr) && /^9*$/.test(yr)) return [digitClass(x0, y0) + anyDigits(n - 1)];
  const group = (alts: string[]): string => (alts.length === 1 ? alts[0] : `( ${alts.join(" | ")} )`);
  if (x0 === y0) return [`"${x0}" ` + group(sameLength(xr, yr))];
  const out = [`"${x0}" ` + group(sameLength(xr, "9".repeat(n - 1)))];
  if (x0 + 1 <= y0 - 1) out.push(digitClass(x0 + 1, y0 - 1) + anyDigits(n - 1));
  out.push(`"${y0}" ` + group(sameLength("0".repeat(n - 1), yr)));
  return out;
}

/** Alternatives for non-negative integers in [a, b]. */
function nonNegative(a: number, b: number): string[] {
  const out: string[] = [];
  for (let d = 1; d <= MAX_INT_DIGITS; d++) {
    const lo = Math.max(a, d === 1 ? 0 : 10 ** (d - 1));
    const hi = Math.min(b, 10 ** d - 1);
    if (lo <= hi) out.push(...sameLength(String(lo), String(hi)));
  }
  return out;
}

/** GBNF expression (parenthesised alternatives) for integers in [lo, hi]; lo, hi integers. */
export function intRangeGBNF(lo: number, hi: number): string {
  lo = Math.max(lo, -MAX_INT);
  hi = Math.min(hi, MAX_INT);
  const alts: string[] = [];
  if (lo < 0) {
    const neg = nonNegative(Math.max(1, -Math.min(hi, -1)), -lo);
    alts.push(`"-" ( ${neg.join(" | ")} )`);
  }
  if (hi >= 0) alts.push(...nonNegative(Math.max(lo, 0), hi));
  return `( ${alts.join(" | ")} )`;
}
