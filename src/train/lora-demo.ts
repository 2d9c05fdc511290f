/**
 * Issue 21's demonstration adapter data (`edgellm train --lora --demo units`, scripts/lora-demo.mjs):
 * metric unit conversions (data/units.ts, a skill the default model lacks) mixed with a replay of
 * the base model's OWN greedy answers to arithmetic questions from its training split
 * (self-distillation). Trained on conversions alone the adapter took arithmetic from 90% to 0%;
 * replaying the corpus's reference answers instead still moved it (63%, then 90.5% vs 93.0%),
 * because the reference texts are not what the base says. Training on the base's own outputs asks
 * the adapter to leave arithmetic exactly as it was, so the only thing it has to learn is units.
 *
 * The replay questions come from the train split of the default model's corpus, so the held-out
 * arithmetic items (eval/arithmetic.ts, test split by a salted hash) are never among them.
 */
import type { LLM } from "../engine/llm.js";
import type { Message } from "./data/format.js";
import { unitExamples } from "./data/units.js";
import { arithmeticTestItems, evalArithmetic, type ArithItem } from "./eval/arithmetic.js";

/** The first n arithmetic questions (add/sub/mul/word, answers known) of the corpus's train split. */
export function arithmeticTrainItems(n: number): ArithItem[] {
  return arithmeticTestItems(n, { split: "train" });
}

export interface UnitsDemoOptions {
  /** unit-conversion training examples (default 1000) */
  units?: number;
  /** self-distilled arithmetic examples (default 800) */
  replay?: number;
  /** longest replayed answer in tokens (default 700, as the evaluation) */
  maxTokens?: number;
  /** replay questions decoded at once (default 16) */
  concurrency?: number;
  onReplay?: (done: number, total: number) => void;
}

/** Chat examples of `base`'s own greedy answers to `items` (deterministic: greedy decoding). */
export async function selfDistill(
  base: LLM,
  items: ArithItem[],
  o: Pick<UnitsDemoOptions, "maxTokens" | "concurrency" | "onReplay"> = {},
): Promise<{ messages: Message[] }[]> {
  const r = await evalArithmetic(base, items, {
    maxTokens: o.maxTokens ?? 700,
    concurrency: o.concurrency ?? 16,
    onDone: o.onReplay,
  });
  return r.results.map((x) => ({
    messages: [
      { role: "user", content: x.question },
      { role: "assistant", content: x.text },
    ] as Message[],
  }));
}

/** The demo's training examples: `units` conversions, then `replay` self-distilled arithmetic. */
export async function unitsDemoExamples(
  base: LLM,
  o: UnitsDemoOptions = {},
): Promise<{ messages: Message[] }[]> {
  const units = unitExamples(o.units ?? 1000, "train").map((e) => ({ messages: e.messages }));
  return [...units, ...(await selfDistill(base, arithmeticTrainItems(o.replay ?? 800), o))];
}
