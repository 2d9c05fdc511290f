/**
 * Eval tasks: question/answer items. "arithmetic" is the held-out test split of the default
 * model's training corpus (train/eval/arithmetic.ts: the one item generator, shared with
 * `edgellm eval --n`; train/data/generate.ts routes problems to test by a salted hash of their
 * key, so these problems were never trained on), first n in corpus order so every strategy sees
 * the same questions.
 */
import { InputError } from "../errors.js";
import { arithmeticTestItems } from "../train/eval/arithmetic.js";

export interface EvalItem {
  question: string;
  answer: string;
  kind: string;
  lang: string;
}

export function arithmeticTask(n: number, opts: { kinds?: string[]; lang?: "en" | "zh" } = {}): EvalItem[] {
  return arithmeticTestItems(n, { ...opts, field: "questions" }).map(({ question, answer, kind, lang }) => ({
    question,
    answer,
    kind,
    lang,
  }));
}

export function loadTask(name: string, n: number): EvalItem[] {
  if (name === "arithmetic") return arithmeticTask(n);
  throw new InputError(`unknown eval task '${name}' (arithmetic)`, { field: "task" });
}
