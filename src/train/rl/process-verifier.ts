/**
 * Process verifier for the default model's column format: every line of the <think> block that
 * is a computation step is checked on its own and against the state of its block (operands,
 * column index, carry/borrow in, the "so far" digits), so a chain of thought can be scored step by
 * step (a process reward, PRM-style labels for free) and a step search / MCTS can prune a branch
 * at its first wrong line. Lines it does not understand (plans, "Step 1:", chat) are unchecked.
 *
 *   4821 + 0377                                      block header: operands (padded)
 *   1 + 7 + 0 = 8, write 8, carry 0, so far 8        column 0: digits, carry in, sum, carry out
 *   carry 1, so far 15198                            final carry
 *   drop leading zeros: 0001 → 1                     strip
 *   shift 1: 2340                                    partial product x 10^i
 *   so 4821 + 377 = 5198 / 4821 × 3 = 14463          result lines: exact arithmetic
 *
 * The "run" × format (FormatOptions.mulRun) is checked too: digit lines in one-operation clauses
 * (`4 × 6 = 24, 24 + 4 = 28, write 8, carry 2, so far 82`, or without the copy: `4 × 6 = 24, + 4 = 28`,
 * or the carry into the units digit: `4 × 9 = 36, 6 + 5 = 11, write 1, carry 3 + 1 = 4`)
 * and a `, total N` suffix that must
 * equal the running total (the first partial product, then each addition's result).
 * With FormatOptions.mulLeft a ` (66)` suffix carries the second factor's unused digits: each
 * partial's header must take its multiplier from the last digit of the brackets before it and
 * carry the rest, and every other line that repeats them must repeat them unchanged.
 * With FormatOptions.colLeft a + / − column line ends with ` (57570 + 00000)`: the digits of both
 * padded header operands above that column, which must be exactly those.
 * With FormatOptions.wordPending every line of a two-step word problem's step 1 carries the step
 * still to do (` [- 8]` after the line or `[- 8] ` before it): it must be the same on every line,
 * and step 2's header (`Step 2: 510 - 8`) must do it.
 */
import type { Verdict, VerifyInput, Verifier } from "../../verify/verifier.js";

export interface StepCheck {
  line: string;
  /** true: verified, false: wrong, null: not a checkable step */
  ok: boolean | null;
}

const SEP = "\\s*[,，]\\s*";
const W = {
  write: "(?:write|写)",
  carry: "(?:carry|进)",
  borrow: "(?:borrow|借)",
  soFar: "(?:so far|目前)",
};
const RE = {
  // operands may be grouped by three digits (FormatOptions.digitGroups: `575,707 + 000,002`)
  header: /^(\d{1,3}(?:,\d{3})*|\d+) ([+\-×]) (\d{1,3}(?:,\d{3})*|\d+)$/,
  add: new RegExp(
    `^(\\d) \\+ (\\d) \\+ (\\d) = (\\d+)${SEP}${W.write} (\\d)${SEP}${W.carry} (\\d)${SEP}${W.soFar} (\\d+)$`,
  ),
  mul: new RegExp(
    `^(\\d) × (\\d) \\+ (\\d) = (\\d+)${SEP}${W.write} (\\d)${SEP}${W.carry} (\\d)${SEP}${W.soFar} (\\d+)$`,
  ),
  sub: new RegExp(
    `^(\\d) - (\\d) - (\\d) = (-?\\d+)(?:${SEP}\\+10 = (\\d+))?${SEP}${W.borrow} (\\d)${SEP}${W.soFar} (\\d+)$`,
  ),
  mulRun: new RegExp(
    `^(\\d) × (\\d) = (\\d+)${SEP}(?:(\\d+) )?\\+ (\\d) = (\\d+)${SEP}${W.write} (\\d)${SEP}${W.carry} (\\d)${SEP}${W.soFar} (\\d+)$`,
  ),
  mulUnits: new RegExp(
    `^(\\d) × (\\d) = (\\d+)${SEP}(\\d) \\+ (\\d) = (\\d+)${SEP}${W.write} (\\d)${SEP}${W.carry} (\\d)(?: \\+ 1 = (\\d))?${SEP}${W.soFar} (\\d+)$`,
  ),
  total: new RegExp(`^(.*?)${SEP}(?:total|累计) (\\d+)$`),
  left: /^(.*?) \((\d+)\)$/,
  colLeft: /^(.*?) \((\d+) ([+\-]) (\d+)\)$/,
  pending: /^(.*?) \[([+\-×]) (\d+)\]$/,
  pendingStart: /^\[([+\-×]) (\d+)\] (.*)$/,
  step2: /^(?:Step 2: |第 2 步：)\d+ ([+\-×]) (\d+)$/,
  carry: new RegExp(`^${W.carry} (\\d)${SEP}${W.soFar} (\\d+)$`),
  strip: /^(?:drop leading zeros:|去掉前导零：)\s*(\d+) → (\d+)$/,
  shift: /^(?:shift|左移) (\d+): (\d+)$/,
  result: /^(?:(?:so|所以) )?(-?\d+) ([+\-×]) (\d+) = (-?\d+)$/,
  swap: /^(\d+) × (\d+) = (\d+) × (\d+)$/,
  compare: /^(?:compare|比较) (\d+) (?:and|和) (\d+)[:：]\s*(.+?)\s*[,，]\s*(?:so|所以) (\d+) ([<>=]) (\d+)$/,
};

const relOf = (x: bigint, y: bigint) => (x < y ? "<" : x > y ? ">" : "=");

/** `compare 6441 and 6440: 6 = 6, 4 = 4, 4 = 4, 1 > 0, so 6441 > 6440` (FormatOptions.subCompare):
 *  every digit pair (or the digit counts) stated truly, in order, up to the first difference, and
 *  the conclusion right. */
function compareOk(m: RegExpMatchArray): boolean {
  const [a, b] = [m[1], m[2]];
  if (m[4] !== a || m[6] !== b || m[5] !== relOf(BigInt(a), BigInt(b))) return false;
  const steps = m[3].split(/\s*[,，]\s*/);
  if (a.length !== b.length) {
    const s = steps[0].match(/^(\d+) (?:digits|位) ([<>]) (\d+) (?:digits|位)$/);
    return (
      steps.length === 1 && !!s && s[1] === String(a.length) && s[3] === String(b.length) && s[2] === m[5]
    );
  }
  let i = 0;
  for (const st of steps) {
    const d = st.match(/^(\d) ([<>=]) (\d)$/);
    if (!d || d[1] !== a[i] || d[3] !== b[i] || d[2] !== relOf(BigInt(d[1]), BigInt(d[3]))) return false;
    i++;
    if (d[2] !== "=") return i === steps.length;
  }
  return i === a.length;
}

function apply(op: string, a: bigint, b: bigint): bigint {
  return op === "+" ? a + b : op === "-" ? a - b : a * b;
}

/** Check every line of a completion's thinking (the whole text if there is no <think>). */
export function checkSteps(text: string): StepCheck[] {
  const open = text.indexOf("<think>");
  const close = text.indexOf("</think>");
  const body = open >= 0 ? text.slice(open + 7, close > open ? close : undefined) : text;
  const out: StepCheck[] = [];
  // block state: operands as digit strings (right-aligned), column, carry, so-far
  let A = "";
  let B = "";
  let op = "";
  let col = 0;
  let carry = 0;
  let soFar = "";
  let lastProduct = 0n;
  // the running total of the "run" × format's partial products
  let runTotal: bigint | null = null;
  // mulLeft: the second factor's digits not used yet, as the last × header stated them
  let left: string | null = null;
  // wordPending: the step still to do, as step 1's first line stated it
  let pending: string | null = null;
  const digitAt = (s: string, i: number) => (i < s.length ? s.charCodeAt(s.length - 1 - i) - 48 : 0);
  for (const raw of body.split("\n")) {
    const trimmed = raw.trim();
    if (!trimmed) continue;
    let ok: boolean | null = null;
    let m: RegExpMatchArray | null;
    const pe = trimmed.match(RE.pending);
    const ps = pe ? null : trimmed.match(RE.pendingStart);
    const whole = pe ? pe[1] : ps ? ps[3] : trimmed;
    const carried = pe ? `${pe[2]} ${pe[3]}` : ps ? `${ps[1]} ${ps[2]}` : null;
    let pendingOk = true;
    if (carried !== null) {
      pending ??= carried;
      pendingOk = pending === carried;
    }
    const s2 = whole.match(RE.step2);
    if (s2 && pending !== null) ok = pending === `${s2[1]} ${s2[2]}`;
    // colLeft: a + / − column line ending with the digits of both operands not used yet
    const cl = whole.match(RE.colLeft);
    const full = cl ? cl[1] : whole;
    const lm = full.match(RE.left);
    const stated = lm ? lm[2] : null;
    const bare = lm ? lm[1] : full;
    const tm = bare.match(RE.total);
    const total = tm ? BigInt(tm[2]) : null;
    const line = tm ? tm[1] : bare;
    // a partial product's header (`521 × 6`, `521 × 0 = 0`) takes its digit from the brackets
    const mh = line.match(/^\d+ × (\d)(?: = 0)?$/);
    let leftOk = true;
    if (mh) {
      if (left !== null) leftOk = mh[1] === left.slice(-1) && (stated ?? "") === left.slice(0, -1);
      left = stated;
    } else if (stated !== null) leftOk = stated === left;
    if ((m = line.match(RE.header))) {
      [A, op, B] = [m[1].replaceAll(",", ""), m[2], m[3].replaceAll(",", "")];
      col = 0;
      carry = 0;
      soFar = "";
      ok = true;
    } else if ((m = line.match(RE.add)) || (m = line.match(RE.mul))) {
      const isMul = line.includes("×");
      const [a, b, c, s, d, c2] = m.slice(1, 7).map(Number);
      const exp = isMul ? a * b + c : a + b + c;
      ok =
        op === (isMul ? "×" : "+") &&
        a === digitAt(A, col) &&
        (isMul ? b === Number(B) : b === digitAt(B, col)) &&
        c === carry &&
        s === exp &&
        d === s % 10 &&
        c2 === Math.floor(s / 10) &&
        m[7] === `${d}${soFar}`;
      carry = c2;
      soFar = m[7];
      col++;
    } else if ((m = line.match(RE.mulUnits)) && (Number(m[3]) >= 10 || m[9] !== undefined)) {
      // units clause: `4 × 9 = 36, 6 + 5 = 11, write 1, carry 3 + 1 = 4` (a one-digit product
      // without the overflow form reads the same as the recopy clause and is checked below)
      const [a, b, p, u0, c, u, d, t] = m.slice(1, 9).map(Number);
      const c2 = m[9] === undefined ? t : Number(m[9]);
      ok =
        op === "×" &&
        a === digitAt(A, col) &&
        b === Number(B) &&
        p === a * b &&
        u0 === p % 10 &&
        c === carry &&
        u === u0 + c &&
        d === u % 10 &&
        t === Math.floor(p / 10) &&
        (u >= 10 ? m[9] !== undefined && c2 === t + 1 : m[9] === undefined) &&
        m[10] === `${d}${soFar}`;
      carry = c2;
      soFar = m[10];
      col++;
    } else if ((m = line.match(RE.mulRun))) {
      // the short clause (`4 × 6 = 24, + 4 = 28`) does not copy the product again
      const [a, b, p, p2, c, s, d, c2] = m.slice(1, 9).map((x) => (x === undefined ? Number.NaN : Number(x)));
      ok =
        op === "×" &&
        a === digitAt(A, col) &&
        b === Number(B) &&
        p === a * b &&
        (m[4] === undefined || p2 === p) &&
        c === carry &&
        s === p + c &&
        d === s % 10 &&
        c2 === Math.floor(s / 10) &&
        m[9] === `${d}${soFar}`;
      carry = c2;
      soFar = m[9];
      col++;
    } else if ((m = line.match(RE.sub))) {
      const [a, b, br, s] = [m[1], m[2], m[3], m[4]].map(Number);
      const wrapped = m[5] === undefined ? null : Number(m[5]);
      const nb = Number(m[6]);
      const raw = a - b - br;
      const digit = raw < 0 ? raw + 10 : raw;
      ok =
        op === "-" &&
        a === digitAt(A, col) &&
        b === digitAt(B, col) &&
        br === carry &&
        s === raw &&
        (raw < 0 ? wrapped === digit : wrapped === null) &&
        nb === (raw < 0 ? 1 : 0) &&
        m[7] === `${digit}${soFar}`;
      carry = nb;
      soFar = m[7];
      col++;
    } else if ((m = line.match(RE.carry))) {
      ok = Number(m[1]) === carry && carry > 0 && m[2] === `${carry}${soFar}`;
      soFar = m[2];
      carry = 0;
    } else if ((m = line.match(RE.strip))) {
      ok = m[1] === soFar && m[2] === String(BigInt(m[1]));
    } else if ((m = line.match(RE.shift))) {
      ok = BigInt(m[2]) === lastProduct * 10n ** BigInt(m[1]);
      lastProduct = BigInt(m[2]);
    } else if ((m = line.match(RE.swap))) {
      ok = m[1] === m[4] && m[2] === m[3];
    } else if ((m = line.match(RE.result))) {
      const r = apply(m[2], BigInt(m[1]), BigInt(m[3]));
      ok = r === BigInt(m[4]);
      if (m[2] === "×") lastProduct = r;
      // a × result without a total starts (or ends) a run; an addition's result is the new total
      if ((m[2] === "×" && total === null) || m[2] === "+") runTotal = BigInt(m[4]);
    } else if ((m = line.match(RE.compare))) {
      ok = compareOk(m);
    } else if ((m = line.match(/^(\d+) × 0 = 0$/))) {
      ok = true;
      lastProduct = 0n;
    }
    if (total !== null) ok = (ok ?? true) && total === runTotal;
    if (!leftOk || !pendingOk) ok = false;
    // the brackets must hold exactly the header's digits above the column just worked
    if (cl && ok !== null)
      ok =
        ok &&
        (op === "+" || op === "-") &&
        cl[3] === op &&
        A.length === B.length &&
        col < A.length &&
        cl[2] === A.slice(0, A.length - col) &&
        cl[4] === B.slice(0, B.length - col);
    out.push({ line: trimmed, ok });
  }
  return out;
}

/** Index of the first wrong step, or -1. */
export function firstError(steps: readonly StepCheck[]): number {
  return steps.findIndex((s) => s.ok === false);
}

/**
 * The process verifier behind the reasoning module's Verifier interface: the score is the share
 * of checkable steps before the first error (1 when every step checks out, also for a partial
 * chain, so a step search keeps correct prefixes and drops a branch at its first wrong line).
 */
export const columnProcessVerifier: Verifier = {
  name: "column-process",
  verify(input: VerifyInput): Verdict {
    const steps = checkSteps(input.text);
    const checkable = steps.filter((s) => s.ok !== null);
    if (checkable.length === 0) return { score: 0.5, detail: "no checkable steps" };
    const bad = firstError(steps);
    if (bad < 0) return { score: 1, detail: `${checkable.length} steps verified` };
    const before = steps.slice(0, bad).filter((s) => s.ok !== null).length;
    return { score: before / checkable.length, detail: `step ${bad + 1} wrong: ${steps[bad].line}` };
  },
};
