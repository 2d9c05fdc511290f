/**
 * Column arithmetic rendered one step per line: the chain of thought a tiny model can follow.
 * Each line handles one digit position (right to left) and carries the partial result written so
 * far, so the final line only copies the last partial (no reversal needed from the model).
 *
 *   4821 + 0377
 *   1 + 7 + 0 = 8, write 8, carry 0, so far 8
 *   ...
 *   so 4821 + 377 = 5198
 *
 * Operands are non-negative integers below 2^53 (checked by callers via `checkOperand`).
 */
import { InputError } from "../../errors.js";
import { WORDS, type Lang } from "./lang.js";

export interface Worked {
  lines: string[];
  result: number;
}

export function checkOperand(x: number, what: string): void {
  if (!Number.isSafeInteger(x) || x < 0) {
    throw new InputError(`arithmetic operand must be a non-negative safe integer, got ${x}`, { field: what });
  }
}

function digitsRight(x: number, width: number): number[] {
  // digits least-significant first, zero-padded to `width`
  const s = String(x).padStart(width, "0");
  const out: number[] = [];
  for (let i = s.length - 1; i >= 0; i--) out.push(s.charCodeAt(i) - 48);
  return out;
}

/** "575707" -> "575,707" (FormatOptions.digitGroups) */
export function groupDigits(s: string): string {
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** the header of a column sum or difference: both operands padded to one width (grouped by three
 *  with digitGroups) */
function columnHeader(a: number, b: number, op: "+" | "-", width: number, fmt: FormatOptions): string {
  const pad = (x: number) => String(x).padStart(width, "0");
  const g = fmt.digitGroups ? groupDigits : (x: string) => x;
  return `${g(pad(a))} ${op} ${g(pad(b))}`;
}

/** colLeft: ` (575 + 000)`, the digits of both padded operands above column i, or "" after the
 *  top column */
function colLeftTail(
  a: number,
  b: number,
  op: "+" | "-",
  width: number,
  i: number,
  fmt: FormatOptions,
): string {
  if (!fmt.colLeft || i + 1 >= width) return "";
  const keep = width - 1 - i;
  const pad = (x: number) => String(x).padStart(width, "0").slice(0, keep);
  return ` (${pad(a)} ${op} ${pad(b)})`;
}

/** a + b, column by column with carries. */
export function addColumns(a: number, b: number, lang: Lang, fmt: FormatOptions = {}): Worked {
  checkOperand(a, "a");
  checkOperand(b, "b");
  const w = WORDS[lang];
  const width = Math.max(String(a).length, String(b).length);
  const da = digitsRight(a, width);
  const db = digitsRight(b, width);
  const lines = [columnHeader(a, b, "+", width, fmt)];
  let carry = 0;
  let soFar = "";
  for (let i = 0; i < width; i++) {
    const s = da[i] + db[i] + carry;
    const d = s % 10;
    const c = Math.floor(s / 10);
    soFar = `${d}${soFar}`;
    lines.push(
      `${da[i]} + ${db[i]} + ${carry} = ${s}${w.comma}${w.write} ${d}${w.comma}${w.carry} ${c}${w.comma}${w.soFar} ${soFar}` +
        colLeftTail(a, b, "+", width, i, fmt),
    );
    carry = c;
  }
  if (carry > 0) {
    soFar = `${carry}${soFar}`;
    lines.push(`${w.carry} ${carry}${w.comma}${w.soFar} ${soFar}`);
  }
  const result = a + b;
  lines.push(`${w.so} ${a} + ${b} = ${result}`);
  return { lines, result };
}

/** Options of the chain-of-thought format; v1 (no options) is the first default model's. */
export interface FormatOptions {
  /** subtraction whose column result has leading zeros gets a "drop leading zeros: 0001 -> 1" line */
  stripLine?: boolean;
  /** multiplication with a longer second factor works b × a instead (fewer partial products):
   *  "4 × 77 = 77 × 4" */
  mulSwap?: boolean;
  /** multiplication with short-range steps only ("run" format): a digit line does one operation
   *  per clause (`4 × 6 = 24, 24 + 4 = 28, write 8, ...`, no product-plus-carry in one go), and
   *  from the second partial product on every line carries the running total of the partials
   *  (`, total 282`), so the addition header copies its first operand from the line above
   *  instead of from the first partial's block far back */
  mulRun?: boolean;
  /** with mulRun: the carry clause adds to the product just written without copying it again
   *  (`4 × 6 = 24, + 4 = 28`), so a digit line copies no number at all */
  mulShort?: boolean;
  /** with mulRun: the carry goes into the product's units digit only, one digit op per clause,
   *  and the carry out is the product's tens digit, plus 1 when the units overflowed
   *  (`4 × 9 = 36, 6 + 5 = 11, write 1, carry 3 + 1 = 4`; `7 × 9 = 63, 3 + 1 = 4, write 4, carry 6`),
   *  so no clause writes a two-digit sum whose first digit depends on a later one */
  mulUnits?: boolean;
  /** subtraction opens with an explicit comparison of the operands, digit by digit from the left
   *  up to the first difference (or by their lengths): `compare 6441 and 6440: 6 = 6, 4 = 4,
   *  4 = 4, 1 > 0, so 6441 > 6440`; the sign flip (a < b) follows from that line */
  subCompare?: boolean;
  /** with mulRun: the digits of the second factor not used yet travel with the working
   *  in brackets (`521 × 6 (66)`; the partial's last line, the shift line and the sum's last line
   *  repeat them), so each partial product's multiplier is the last digit of the brackets on the
   *  line just above instead of a digit of the question hundreds of tokens back. Brackets, not a
   *  word: a 3×3 working is already up to ~960 of the 1,024-token context, and a digit is a token */
  mulLeft?: boolean;
  /** the header of a + or − worked in columns groups both padded operands by three digits from the
   *  right (`575,707 + 000,002`), so the 4th-6th columns are found by the comma instead of by
   *  counting digits (the ± 5-6 misses of v2unitsP read one digit from the wrong column, most often
   *  the 4th); × workings keep their sums ungrouped */
  digitGroups?: boolean;
  /** + and − in columns: every column line but the last ends with the digits of both (padded)
   *  operands not used yet, in brackets (`7 + 2 + 0 = 9, write 9, carry 0, so far 9 (57570 + 00000)`),
   *  so the next column's digits are the last digits of the brackets on the line just above
   *  instead of the k-th digit from the right of a header up to ~200 tokens back (v2unitsP's ± 5-6
   *  misses read a digit from the wrong column, most often the 4th); × sums keep their lines */
  colLeft?: boolean;
  /** two-step word problems: every line of step 1's working carries the step still to do, in
   *  square brackets, so "Step 2: 510 - 8" copies its operator and operand from the line just above
   *  instead of from the plan line ~250 tokens back (v2unitsU's word misses: 19 of 33 miscopied that
   *  operand, 12 stopped after step 1). "end": after the line (`... so far 70 [- 8]`,
   *  `so 34 × 15 = 510 [- 8]`); "start": before it (`[- 8] 3 × 5 = 15, ...`), which leaves the
   *  end of each line, where the carried digits' brackets are read, as it was */
  wordPending?: "end" | "start";
  /** subtraction always works a − b in columns first (both padded to the longer width); a borrow out
   *  of the top column then shows a < b (`borrow out 1, 61 < 62, so 61 - 62 = -(62 - 61)`) and the
   *  subtraction is redone the other way round, so the sign is read off the last column line
   *  instead of being decided before any column is worked */
  subBorrowOut?: boolean;
  /** with subBorrowOut: after the borrow out, the negative result is the complement of the last
   *  "so far" (`borrow out 1, negative: -(100 - 99)`, then 100 - 99 in columns), so the flip line
   *  copies only the line above and no operand from the header */
  subComplement?: boolean;
}

/** The subCompare line: which of a and b is larger, decided one digit pair at a time. */
export function compareLine(a: number, b: number, lang: Lang): string {
  const w = WORDS[lang];
  const [sa, sb] = [String(a), String(b)];
  const rel = (x: number, y: number) => (x < y ? "<" : x > y ? ">" : "=");
  const steps: string[] = [];
  if (sa.length !== sb.length) steps.push(w.lengths(sa.length, rel(sa.length, sb.length), sb.length));
  else
    for (let i = 0; i < sa.length; i++) {
      const [x, y] = [sa.charCodeAt(i) - 48, sb.charCodeAt(i) - 48];
      steps.push(`${x} ${rel(x, y)} ${y}`);
      if (x !== y) break;
    }
  return `${w.compare(sa, sb)} ${steps.join(w.comma)}${w.comma}${w.so} ${sa} ${rel(a, b)} ${sb}`;
}

/** a - b; when a < b, states the sign flip and subtracts the other way round. */
export function subColumns(a: number, b: number, lang: Lang, fmt: FormatOptions = {}): Worked {
  checkOperand(a, "a");
  checkOperand(b, "b");
  const w = WORDS[lang];
  if (fmt.subCompare) {
    const inner = subColumns(a, b, lang, { ...fmt, subCompare: false });
    return { lines: [compareLine(a, b, lang), ...inner.lines], result: inner.result };
  }
  if (a < b && !fmt.subBorrowOut) {
    const inner = subColumns(b, a, lang, fmt);
    const result = a - b;
    const lines = [w.negate(String(a), String(b)), ...inner.lines];
    lines.push(`${w.so} ${a} - ${b} = ${result}`);
    return { lines, result };
  }
  // a - b in columns (mod 10^width when a < b: subBorrowOut works it anyway, up to the borrow out)
  const width = Math.max(String(a).length, String(b).length);
  const da = digitsRight(a, width);
  const db = digitsRight(b, width);
  const lines = [columnHeader(a, b, "-", width, fmt)];
  let borrow = 0;
  let soFar = "";
  for (let i = 0; i < width; i++) {
    let s = da[i] - db[i] - borrow;
    let line = `${da[i]} - ${db[i]} - ${borrow} = ${s}`;
    let nb = 0;
    if (s < 0) {
      s += 10;
      nb = 1;
      line += `${w.comma}+10 = ${s}`;
    }
    soFar = `${s}${soFar}`;
    line += `${w.comma}${w.borrow} ${nb}${w.comma}${w.soFar} ${soFar}${colLeftTail(a, b, "-", width, i, fmt)}`;
    lines.push(line);
    borrow = nb;
  }
  const result = a - b;
  if (a < b) {
    // the borrow out of the top column: redo as b - a, or as the complement of the so-far
    const top = 10 ** width;
    const inner = fmt.subComplement
      ? subColumns(top, Number(soFar), lang, { ...fmt, subBorrowOut: false })
      : subColumns(b, a, lang, fmt);
    const flip = fmt.subComplement ? `${w.negative} -(${top} - ${soFar})` : w.negate(String(a), String(b));
    lines.push(`${w.borrowOut}${w.comma}${flip}`, ...inner.lines);
  } else if (fmt.stripLine && soFar.length > 1 && soFar[0] === "0") {
    lines.push(`${w.strip} ${soFar} → ${String(Number(soFar))}`);
  }
  lines.push(`${w.so} ${a} - ${b} = ${result}`);
  return { lines, result };
}

/** a × d for a single digit d, column by column with carries; `run` splits each digit line into
 *  one-operation clauses and appends the running total of the earlier partials (if any). */
function mulDigitColumns(
  a: number,
  d: number,
  lang: Lang,
  run?: { total?: number; short?: boolean; units?: boolean },
): Worked {
  const w = WORDS[lang];
  const tail = run?.total === undefined ? "" : `${w.comma}${w.total} ${run.total}`;
  const width = String(a).length;
  const da = digitsRight(a, width);
  const lines = [`${a} × ${d}${tail}`];
  let carry = 0;
  let soFar = "";
  for (let i = 0; i < width; i++) {
    const p = da[i] * d;
    const s = p + carry;
    const r = s % 10;
    const c = Math.floor(s / 10);
    soFar = `${r}${soFar}`;
    if (run?.units) {
      // units digit + carry in (0..17), then the carry out from the product's tens digit
      const u = (p % 10) + carry;
      const t = Math.floor(p / 10);
      const out = u >= 10 ? `${t} + 1 = ${c}` : `${c}`;
      lines.push(
        `${da[i]} × ${d} = ${p}${w.comma}${p % 10} + ${carry} = ${u}${w.comma}${w.write} ${r}${w.comma}${w.carry} ${out}${w.comma}${w.soFar} ${soFar}${tail}`,
      );
      carry = c;
      continue;
    }
    const op = run
      ? `${da[i]} × ${d} = ${p}${w.comma}${run.short ? "" : `${p} `}+ ${carry} = ${s}`
      : `${da[i]} × ${d} + ${carry} = ${s}`;
    lines.push(`${op}${w.comma}${w.write} ${r}${w.comma}${w.carry} ${c}${w.comma}${w.soFar} ${soFar}${tail}`);
    carry = c;
  }
  if (carry > 0) {
    soFar = `${carry}${soFar}`;
    lines.push(`${w.carry} ${carry}${w.comma}${w.soFar} ${soFar}${tail}`);
  }
  const result = a * d;
  lines.push(`${a} × ${d} = ${result}${tail}`);
  return { lines, result };
}

/** a × b: one partial product per digit of b (shifted), then the partials added in columns. */
export function mulColumns(a: number, b: number, lang: Lang, fmt: FormatOptions = {}): Worked {
  checkOperand(a, "a");
  checkOperand(b, "b");
  if (fmt.mulSwap && String(b).length > String(a).length) {
    const inner = mulColumns(b, a, lang, { ...fmt, mulSwap: false });
    const lines = [`${a} × ${b} = ${b} × ${a}`, ...inner.lines];
    lines.push(`${WORDS[lang].so} ${a} × ${b} = ${inner.result}`);
    return { lines, result: inner.result };
  }
  if (!Number.isSafeInteger(a * b))
    throw new InputError(`product ${a} × ${b} exceeds 2^53`, { field: "a×b" });
  const w = WORDS[lang];
  const lines: string[] = [];
  const bd = digitsRight(b, String(b).length);
  if (fmt.mulRun) {
    // each partial is added to the running total right after it is computed
    let total = 0;
    const bs = String(b);
    for (let i = 0; i < bd.length; i++) {
      const tail = i === 0 ? "" : `${w.comma}${w.total} ${total}`;
      // the digits of b above this one (mulLeft), on the lines that hand them to the next partial
      const rest = bs.slice(0, bs.length - 1 - i);
      const left = fmt.mulLeft && rest !== "" ? ` (${rest})` : "";
      let p: number;
      if (bd[i] === 0 || a === 0) {
        p = 0;
        lines.push(`${a} × ${bd[i]} = 0${tail}${left}`);
      } else {
        const m = mulDigitColumns(a, bd[i], lang, {
          total: i === 0 ? undefined : total,
          short: fmt.mulShort === true,
          units: fmt.mulUnits === true,
        });
        if (left !== "") {
          m.lines[0] += left;
          m.lines[m.lines.length - 1] += left;
        }
        lines.push(...m.lines);
        p = m.result;
      }
      if (i === 0) {
        total = p;
        continue;
      }
      const shifted = p * 10 ** i;
      lines.push(`${w.shift} ${i}: ${shifted}${tail}${left}`);
      const s = addColumns(total, shifted, lang);
      if (left !== "") s.lines[s.lines.length - 1] += left;
      lines.push(...s.lines);
      total = s.result;
    }
    lines.push(`${w.so} ${a} × ${b} = ${a * b}`);
    return { lines, result: a * b };
  }
  const partials: number[] = [];
  for (let i = 0; i < bd.length; i++) {
    let p: number;
    if (bd[i] === 0 || a === 0) {
      p = 0;
      lines.push(`${a} × ${bd[i]} = 0`);
    } else {
      const m = mulDigitColumns(a, bd[i], lang);
      lines.push(...m.lines);
      p = m.result;
    }
    if (i > 0) {
      const shifted = p * 10 ** i;
      lines.push(`${w.shift} ${i}: ${shifted}`);
      p = shifted;
    }
    partials.push(p);
  }
  let acc = partials[0];
  for (let i = 1; i < partials.length; i++) {
    const s = addColumns(acc, partials[i], lang);
    lines.push(...s.lines);
    acc = s.result;
  }
  const result = a * b;
  lines.push(`${w.so} ${a} × ${b} = ${result}`);
  return { lines, result };
}

export type Op = "+" | "-" | "×";

export function columns(op: Op, a: number, b: number, lang: Lang, fmt: FormatOptions = {}): Worked {
  switch (op) {
    case "+":
      return addColumns(a, b, lang, fmt);
    case "-":
      return subColumns(a, b, lang, fmt);
    case "×":
      return mulColumns(a, b, lang, fmt);
  }
}
