/**
 * Eval tasks: question/answer items. "arithmetic" is the held-out test split of the training
 * corpus (train/data/generate.ts routes problems to test by a salted hash of their key, so these
 * problems were never trained on), arithmetic kinds only (add, sub, mul, word), first n in
 * corpus order so every strategy sees the same questions.
 */
import { InputError } from "../errors.js";
import { DEFAULT_DATA_CONFIG, generateDataset } from "../train/data/generate.js";

export interface EvalItem {
  question: string;
  answer: string;
  kind: string;
  lang: string;
}

export function arithmeticTask(n: number, opts: { kinds?: string[]; lang?: "en" | "zh" } = {}): EvalItem[] {
  if (!Number.isInteger(n) || n < 1)
    throw new InputError(`--questions must be a positive integer, got ${n}`, { field: "questions" });
  const kinds = new Set(opts.kinds ?? ["add", "sub", "mul", "word"]);
  const out: EvalItem[] = [];
  // The test split holds ~5% of keys; draw more than n and keep the first n that fit.
  for (let want = n * 2; out.length < n && want <= n * 64; want *= 4) {
    out.length = 0;
    const d = generateDataset({ ...DEFAULT_DATA_CONFIG, counts: { train: 0, val: 0, test: want } });
    for (const e of d.test) {
      if (e.answer === undefined || !kinds.has(e.kind) || (opts.lang && e.lang !== opts.lang)) continue;
      out.push({ question: e.messages[0].content, answer: e.answer, kind: e.kind, lang: e.lang });
      if (out.length === n) break;
    }
  }
  return out;
}

export function loadTask(name: string, n: number): EvalItem[] {
  if (name === "arithmetic") return arithmeticTask(n);
  throw new InputError(`unknown eval task '${name}' (arithmetic)`, { field: "task" });
}
