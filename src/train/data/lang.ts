/**
 * The words the step-by-step solutions use, per language. The arithmetic lines themselves are
 * language-neutral digits and symbols; only these connectives change, so one solver renders both.
 */
export type Lang = "en" | "zh";
export const LANGS: readonly Lang[] = ["en", "zh"];

export interface StepWords {
  /** "write 8, carry 1, so far 98" */
  write: string;
  carry: string;
  borrow: string;
  soFar: string;
  /** "so 12 + 30 = 42" */
  so: string;
  /** separator between clauses of one step line */
  comma: string;
  /** "4821 × 3 = 14463, shift 1: 144630" */
  shift: string;
  /** "Step 1: " (includes the separator before the expression) */
  step: (n: number) => string;
  answer: (x: string) => string;
  /** "377 < 4821, so 377 - 4821 = -(4821 - 377)" */
  negate: (a: string, b: string) => string;
  /** subCompare format: "compare 6441 and 6440:" */
  compare: (a: string, b: string) => string;
  /** subCompare format: "3 digits < 4 digits" */
  lengths: (la: number, rel: string, lb: number) => string;
  /** "run" × format: the running total of the partial products, "…, total 282" */
  total: string;
  /** v2 subtraction: "drop leading zeros: 0001 -> 1" */
  strip: string;
  /** the borrow out of the top column of a - b with a < b (FormatOptions.subBorrowOut) */
  borrowOut: string;
  /** "the result is negative:" (FormatOptions.subComplement) */
  negative: string;
  /** v2 word problems: "Plan: (35 + 48) - 20" */
  plan: string;
}

export const WORDS: Record<Lang, StepWords> = {
  en: {
    write: "write",
    carry: "carry",
    borrow: "borrow",
    soFar: "so far",
    so: "so",
    comma: ", ",
    shift: "shift",
    total: "total",
    step: (n) => `Step ${n}: `,
    answer: (x) => `The answer is ${x}.`,
    negate: (a, b) => `${a} < ${b}, so ${a} - ${b} = -(${b} - ${a})`,
    compare: (a, b) => `compare ${a} and ${b}:`,
    lengths: (la, rel, lb) => `${la} digits ${rel} ${lb} digits`,
    strip: "drop leading zeros:",
    borrowOut: "borrow out 1",
    negative: "negative:",
    plan: "Plan:",
  },
  zh: {
    write: "写",
    carry: "进",
    borrow: "借",
    soFar: "目前",
    so: "所以",
    comma: "，",
    shift: "左移",
    total: "累计",
    step: (n) => `第 ${n} 步：`,
    answer: (x) => `答案是 ${x}。`,
    negate: (a, b) => `${a} < ${b}，所以 ${a} - ${b} = -(${b} - ${a})`,
    compare: (a, b) => `比较 ${a} 和 ${b}：`,
    lengths: (la, rel, lb) => `${la} 位 ${rel} ${lb} 位`,
    strip: "去掉前导零：",
    borrowOut: "最高位借 1",
    negative: "结果为负：",
    plan: "列式：",
  },
};
