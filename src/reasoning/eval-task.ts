/**
 * Eval tasks: question/answer items. "arithmetic" is the held-out test split of the default
 * model's training corpus (train/eval/arithmetic.ts: the one item generator, shared with
 * `edgellm eval --n`; train/data/generate.ts routes problems to test by a salted hash of their
 * key, so these problems were never trained on), first n in corpus order so every strategy sees
 * the same questions.
 */
import { InputError } from "../errors.js";
import { arithmeticTestItems } from "../train/eval/arithmetic.js";
import { DEFAULT_MODEL_DATA, V2_MODEL_DATA } from "../train/presets.js";

export interface EvalItem {
  question: string;
  answer: string;
  kind: string;
  lang: string;
}

/** Which corpus's test split: v1 (the first default model's mix) or v2 (more ×, two-step word problems). */
export type TaskSet = "v1" | "v2";

export interface TaskOptions {
  kinds?: string[];
  lang?: "en" | "zh";
  set?: TaskSet;
}

const KINDS = ["add", "sub", "mul", "word"];

export function arithmeticTask(n: number, opts: TaskOptions = {}): EvalItem[] {
  for (const k of opts.kinds ?? [])
    if (!KINDS.includes(k))
      throw new InputError(`unknown problem kind '${k}' (${KINDS.join(", ")})`, { field: "kinds" });
  const data = opts.set === "v2" ? V2_MODEL_DATA : DEFAULT_MODEL_DATA;
  return arithmeticTestItems(n, { kinds: opts.kinds, lang: opts.lang, data, field: "questions" }).map(
    ({ question, answer, kind, lang }) => ({
      question,
      answer,
      kind,
      lang,
    }),
  );
}

export function parseTaskSet(s: string | undefined): TaskSet {
  if (s === undefined || s === "v1" || s === "v2") return s ?? "v1";
  throw new InputError(`--set must be v1 or v2, got '${s}'`, { field: "set" });
}

export function loadTask(name: string, n: number, opts: TaskOptions = {}): EvalItem[] {
  if (name === "arithmetic") return arithmeticTask(n, opts);
  throw new InputError(`unknown eval task '${name}' (arithmetic)`, { field: "task" });
}
