/**
 * A learned process reward model (PRM) for the column working format: the default model with a
 * LoRA adapter trained to answer "yes" or "no" to "is the last line of this working right?".
 * Labels are free: the working lines of the synthetic corpus are right by construction, and a
 * corrupted copy (one digit changed) is labelled by the rule-based step checker
 * (rl/process-verifier.ts), so the PRM learns what the checker knows without its regexes.
 *
 *   prmExamples   chat examples {user: "Check the last line:\n<context>", assistant: "yes"|"no"},
 *                 half of them corrupted; the context is the block of the step (from its header,
 *                 at most CONTEXT_LINES lines)
 *   PrmVerifier   the Verifier: each computation line of a candidate's thinking is judged
 *                 once (cached by context) as P(yes)/(P(yes)+P(no)) from the next-token
 *                 distribution; the score is the lowest line's probability (0.5 when no line was
 *                 judged), for partial and finished candidates alike
 * Training: scripts/train-prm.mjs (one command, `edgellm train --lora`'s loop).
 */
import { generateDataset, type DataConfig } from "./data/generate.js";
import { Rng } from "../sampling/rng.js";
import { checkSteps } from "./rl/process-verifier.js";
import type { LLM } from "../engine/llm.js";
import type { Message } from "./data/format.js";
import type { Verdict, Verifier, VerifyInput } from "../verify/verifier.js";

/** Lines shown before the judged one (its block's header included when it is this close). */
export const CONTEXT_LINES = 8;
const HEADER = /^\d+ [+\-×] \d+$/;
/** Lines the PRM judges: computations (digit, carry, result, strip and shift lines), not plans or headers. */
const JUDGED = /=|so far|目前|→|^(?:shift|左移) \d+:/;

export function isJudgedLine(line: string): boolean {
  return /\d/.test(line) && JUDGED.test(line);
}

/** The thinking lines of a completion (the whole text when it has no <think>). */
export function thinkingLines(text: string): string[] {
  const open = text.indexOf("<think>");
  const close = text.indexOf("</think>");
  const body = open >= 0 ? text.slice(open + 7, close > open ? close : undefined) : text;
  return body
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** The prompt for judging lines[i]: the lines since its block's header (at most CONTEXT_LINES before it). */
export function prmPrompt(lines: readonly string[], i: number): Message[] {
  let from = Math.max(0, i - CONTEXT_LINES);
  for (let j = i; j >= from; j--)
    if (HEADER.test(lines[j])) {
      from = j;
      break;
    }
  return [{ role: "user", content: `Check the last line:\n${lines.slice(from, i + 1).join("\n")}` }];
}

/** Change one digit of `line` to another digit (the line must hold a digit). */
function corrupt(line: string, rng: Rng): string {
  const at: number[] = [];
  for (let i = 0; i < line.length; i++) if (line[i] >= "0" && line[i] <= "9") at.push(i);
  const i = at[rng.int(0, at.length - 1)];
  const d = (line.charCodeAt(i) - 48 + rng.int(1, 9)) % 10;
  return line.slice(0, i) + String(d) + line.slice(i + 1);
}

export interface PrmExample {
  messages: Message[];
  /** The rule checker's label of the judged line. */
  ok: boolean;
}

/**
 * n labelled examples from the training split of `data` (+, −, × and word problems), one judged
 * line each, about half corrupted; a corrupted line the checker still accepts keeps label yes.
 */
export function prmExamples(n: number, data: DataConfig, seed: number): PrmExample[] {
  const rng = new Rng(seed);
  const cfg: DataConfig = {
    ...data,
    seed,
    counts: { train: n, val: 0, test: 0 },
    mix: { add: 0.25, sub: 0.25, mul: 0.3, word: 0.2 },
  };
  const out: PrmExample[] = [];
  for (const e of generateDataset(cfg).train) {
    const a = e.messages.find((m) => m.role === "assistant");
    if (!a) continue;
    const lines = thinkingLines(a.content);
    const checks = checkSteps(lines.join("\n"));
    const idx = checks.flatMap((c, i) => (c.ok !== null && isJudgedLine(lines[i]) ? [i] : []));
    if (idx.length === 0) continue;
    const i = idx[rng.int(0, idx.length - 1)];
    const shown = lines.slice(0, i + 1);
    if (rng.uniform() < 0.5) shown[i] = corrupt(shown[i], rng);
    const ok = checkSteps(shown.join("\n"))[i].ok;
    if (ok === null) continue;
    out.push({ messages: [...prmPrompt(shown, i), { role: "assistant", content: ok ? "yes" : "no" }], ok });
  }
  return out;
}

/** The PRM over a loaded model (the base with the PRM adapter applied). */
export class PrmVerifier implements Verifier {
  readonly name = "prm";
  private readonly cache = new Map<string, number>();
  /** Lines judged by the model (cache misses). */
  judged = 0;

  constructor(private readonly llm: LLM) {}

  /** P(yes) / (P(yes) + P(no)) for the last line of the prompt (first tokens); 0.5 when neither is among the top 20. */
  async lineScore(messages: Message[]): Promise<number> {
    const key = messages[0].content;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    this.judged++;
    const ids = this.llm.encodeChat(messages.map((m) => ({ role: m.role, content: m.content })));
    // the verdict is decided by the first token of "yes" / "no" (a small vocabulary splits them: y|es, n|o)
    const first = (w: string) => this.llm.tokenizer.encode(w, { addSpecial: false })[0];
    const [yesId, noId] = [first("yes"), first("no")];
    let p = 0.5;
    for await (const c of this.llm.generate(ids, { maxTokens: 1, temperature: 0, logprobs: 20 })) {
      if (c.type !== "token") continue;
      let yes = 0;
      let no = 0;
      for (const t of c.top ?? []) {
        if (t.id === yesId) yes += Math.exp(t.logprob);
        else if (t.id === noId) no += Math.exp(t.logprob);
      }
      if (yes + no > 0) p = yes / (yes + no);
    }
    this.cache.set(key, p);
    return p;
  }

  async verify(input: VerifyInput): Promise<Verdict> {
    const lines = thinkingLines(input.text);
    let min = 1;
    let n = 0;
    let worst = "";
    for (let i = 0; i < lines.length; i++) {
      if (!isJudgedLine(lines[i])) continue;
      const p = await this.lineScore(prmPrompt(lines, i));
      n++;
      if (p < min) [min, worst] = [p, lines[i]];
    }
    if (n === 0) return { score: 0.5, detail: "no lines to judge" };
    return { score: min, detail: `${n} lines judged; lowest ${min.toFixed(3)}${worst ? `: ${worst}` : ""}` };
  }
}
