/**
 * The LoRA demonstration skill: metric unit conversion, which the default model (trained only on
 * arithmetic) refuses. Questions in a few phrasings, answers in the default model's style (a short
 * <think> with the factor, then "The answer is N unit."), deterministic from the seed. Held-out
 * examples use values that no training example uses in any unit: a fixed fifth of 1..999 chosen by a
 * hash (isTestValue), so both splits cover every size and both parities. (Until session 15 the test
 * took the odd values and training the even ones; an adapter trained on even values only learnt that
 * the digit before a factor's zeros is even: `791 × 10 = 7920`.)
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

/** Whether value v (1..999) belongs to the held-out split: a fixed hash, about one value in five. */
export function isTestValue(v: number): boolean {
  let h = Math.imul(v ^ 0x2c1b3c6d, 0x297a2d39);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) % 5 === 0;
}

export function unitExamples(n: number, split: "train" | "test", seed = 1): UnitExample[] {
  const rng = new Rng(seed * 2 + (split === "train" ? 0 : 1));
  const out: UnitExample[] = [];
  const seen = new Set<string>();
  while (out.length < n) {
    const [a, b, f] = UNITS[Math.floor(rng.uniform() * UNITS.length)];
    const v = 1 + Math.floor(rng.uniform() * 999);
    // Test values never occur in training, in any unit: held out by construction.
    if (isTestValue(v) !== (split === "test")) continue;
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
