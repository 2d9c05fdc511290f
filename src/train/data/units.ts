/**
 * The LoRA demonstration skill: metric unit conversion, which the default model (trained only on
 * arithmetic) refuses. Questions in a few phrasings, answers in the default model's style (a short
 * <think> with the factor, then "The answer is N unit."), deterministic from the seed; held-out
 * examples come from another seed range, so train and test never share a question.
 */
import type { Message } from "./format.js";
import { Rng } from "../../sampling/rng.js";

const UNITS: [string, string, number][] = [
  ["km", "m", 1000],
  ["m", "cm", 100],
  ["cm", "mm", 10],
  ["kg", "g", 1000],
  ["l", "ml", 1000],
];
const PHRASES = [
  (v: number, a: string, b: string) => `Convert ${v} ${a} to ${b}.`,
  (v: number, a: string, b: string) => `How many ${b} are in ${v} ${a}?`,
  (v: number, a: string, b: string) => `${v} ${a} in ${b}?`,
];

export interface UnitExample {
  messages: Message[];
  /** The expected number (for exact-match evaluation). */
  answer: number;
  unit: string;
}

export function unitExamples(n: number, split: "train" | "test", seed = 1): UnitExample[] {
  const rng = new Rng(seed * 2 + (split === "train" ? 0 : 1));
  const out: UnitExample[] = [];
  const seen = new Set<string>();
  while (out.length < n) {
    const [a, b, f] = UNITS[Math.floor(rng.uniform() * UNITS.length)];
    const v = 1 + Math.floor(rng.uniform() * 999);
    // Test questions use odd values, train even ones: held out by construction.
    if ((v % 2 === 1) !== (split === "test")) continue;
    const key = `${v}${a}${b}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const q = PHRASES[Math.floor(rng.uniform() * PHRASES.length)](v, a, b);
    const ans = v * f;
    out.push({
      messages: [
        { role: "user", content: q },
        {
          role: "assistant",
          content: `<think>\n1 ${a} = ${f} ${b}\n${v} × ${f} = ${ans}\n</think>\nThe answer is ${ans} ${b}.`,
        },
      ],
      answer: ans,
      unit: b,
    });
  }
  return out;
}
