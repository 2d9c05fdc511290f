/**
 * Held-out arithmetic accuracy of a chat model: greedy decoding through the inference engine
 * (the GGUF's own chat template and tokenizer), exact match of the final answer, broken down by
 * operation and by digit count. Questions are the test split of the default model's corpus
 * (generate.ts routes a problem to test by a salted hash of its key, so none was trained on),
 * arithmetic kinds only, first n in corpus order.
 */
import { InputError } from "../../errors.js";
import type { LLM } from "../../engine/llm.js";
import { generateDataset, type DataConfig } from "../data/generate.js";
import { DEFAULT_MODEL_DATA } from "../presets.js";
import { extractLastNumber } from "../../verify/extract.js";

export interface ArithItem {
  question: string;
  answer: string;
  /** add | sub | mul | word */
  kind: string;
  /** digit count of the problem (largest operand) */
  digits: number;
  lang: string;
}

/**
 * The one generator of held-out arithmetic items (also behind `edgellm eval`'s sweep, via
 * reasoning/eval-task.ts): the first n problems of the test split of `data` (default: the
 * default model's own corpus mix, so the README's accuracy figures keep their meaning), chat
 * turns skipped; `kinds` / `lang` narrow it further. `split: "train"` draws from the training split
 * instead (the LoRA demo's self-distillation replay: never a held-out item).
 */
export function arithmeticTestItems(
  n: number,
  o: {
    data?: DataConfig;
    kinds?: readonly string[];
    lang?: string;
    field?: string;
    split?: "train" | "test";
  } = {},
): ArithItem[] {
  const field = o.field ?? "n";
  if (!Number.isInteger(n) || n < 1)
    throw new InputError(`--${field} must be a positive integer, got ${n}`, { field });
  const data = o.data ?? DEFAULT_MODEL_DATA;
  const kinds = o.kinds && new Set(o.kinds);
  const out: ArithItem[] = [];
  // the test split holds ~5% of keys and chat turns have no answer: grow the draw until n fit
  for (let want = n * 2; out.length < n && want <= n * 64; want *= 4) {
    out.length = 0;
    const split = o.split ?? "test";
    const d = generateDataset({ ...data, counts: { train: 0, val: 0, test: 0, [split]: want } });
    for (const e of d[split]) {
      // tool and JSON examples open with a system prompt: not plain questions
      if (e.answer === undefined || e.kind === "chat" || e.kind === "tool" || e.kind === "json") continue;
      if ((kinds && !kinds.has(e.kind)) || (o.lang && e.lang !== o.lang)) continue;
      out.push({
        question: e.messages[0].content,
        answer: e.answer,
        kind: e.kind,
        digits: e.digits ?? 0,
        lang: e.lang,
      });
      if (out.length === n) break;
    }
  }
  return out;
}

/** The final answer of a completion: its last number after the thinking block (null if none,
 *  or while a <think> is still open). */
export function finalAnswer(text: string): string | null {
  return extractLastNumber(text) ?? null;
}

export interface Tally {
  n: number;
  correct: number;
  accuracy: number;
}

export interface ArithReport {
  total: Tally;
  byKind: Record<string, Tally>;
  /** key "add/3": operation and digit count */
  byKindDigits: Record<string, Tally>;
  completionTokens: number;
  seconds: number;
  results: {
    question: string;
    answer: string;
    got: string | null;
    kind: string;
    digits: number;
    text: string;
  }[];
}

function tally(rows: { ok: boolean }[]): Tally {
  const correct = rows.filter((r) => r.ok).length;
  return { n: rows.length, correct, accuracy: rows.length ? correct / rows.length : 0 };
}

export async function evalArithmetic(
  llm: LLM,
  items: ArithItem[],
  opts: { maxTokens?: number; concurrency?: number; onDone?: (done: number, total: number) => void } = {},
): Promise<ArithReport> {
  const t0 = performance.now();
  // default: the room left in the context (a 6-digit − with its complement is ~640 tokens)
  const maxTokens = opts.maxTokens;
  const results: ArithReport["results"] = new Array(items.length);
  let completionTokens = 0;
  let next = 0;
  let done = 0;
  // a few questions in flight at once: the engine batches their decode steps
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const it = items[i];
      const c = await llm.complete(
        { messages: [{ role: "user", content: it.question }] },
        { temperature: 0, maxTokens },
      );
      const text = c.choices[0].text;
      completionTokens += c.usage.completionTokens;
      results[i] = {
        question: it.question,
        answer: it.answer,
        got: finalAnswer(text),
        kind: it.kind,
        digits: it.digits,
        text,
      };
      opts.onDone?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  const rows = results.map((r) => ({ ...r, ok: r.got === r.answer }));
  const group = (key: (r: (typeof rows)[number]) => string) => {
    const m = new Map<string, typeof rows>();
    for (const r of rows) (m.get(key(r)) ?? m.set(key(r), []).get(key(r))!).push(r);
    return Object.fromEntries(
      [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, tally(v)]),
    );
  };
  return {
    total: tally(rows),
    byKind: group((r) => r.kind),
    byKindDigits: group((r) => `${r.kind}/${r.digits}`),
    completionTokens,
    seconds: (performance.now() - t0) / 1000,
    results,
  };
}

/** Plain-text table of a report. */
export function formatArithReport(r: ArithReport): string {
  const pct = (t: Tally) =>
    `${(100 * t.accuracy).toFixed(1).padStart(5)}%  ${String(t.correct).padStart(4)}/${t.n}`;
  const lines = ["operation/digits   accuracy", "----------------   --------"];
  for (const [k, t] of Object.entries(r.byKindDigits)) lines.push(`${k.padEnd(16)}   ${pct(t)}`);
  lines.push("----------------   --------");
  for (const [k, t] of Object.entries(r.byKind)) lines.push(`${(k + " (all)").padEnd(16)}   ${pct(t)}`);
  lines.push(`${"total".padEnd(16)}   ${pct(r.total)}`);
  lines.push(`${r.completionTokens} completion tokens in ${r.seconds.toFixed(1)} s`);
  return lines.join("\n") + "\n";
}
