/**
 * Model-judge verifier: ask a model (any loaded one, also the generating model itself) whether
 * the candidate is right and read the answer off its next-token distribution instead of its
 * sampled text: score = P(yes) / (P(yes) + P(no)), summing the probability of every top token
 * that reads as yes ("yes", "Yes", " YES", "是", "对", "true") or as no. When neither shows up in
 * the top tokens the judge has no opinion: 0.5.
 */
import type { LLM } from "../engine/llm.js";
import type { ChatMessage } from "../tokenizer/chat-template.js";
import { answerPart } from "./extract.js";
import type { Verdict, Verifier, VerifyInput } from "./verifier.js";

/** What the judge needs from a model: the most likely next tokens (text, logprob) after a chat prompt. */
export interface JudgeModel {
  nextTokens(messages: ChatMessage[], k: number): Promise<{ text: string; logprob: number }[]>;
}

const YES = new Set(["yes", "y", "true", "correct", "是", "对", "正确"]);
const NO = new Set(["no", "n", "false", "incorrect", "wrong", "否", "不", "错", "不对", "错误"]);

export function defaultJudgePrompt(question: string, candidate: string): ChatMessage[] {
  return [
    { role: "system", content: "You check answers. Reply with one word: yes or no." },
    {
      role: "user",
      content: `Question: ${question}\nProposed answer: ${candidate}\nIs the proposed answer correct? Reply yes or no.`,
    },
  ];
}

export interface ModelJudgeOptions {
  /** Top tokens read. Default 20. */
  topK?: number;
  prompt?: (question: string, candidate: string) => ChatMessage[];
}

export class ModelJudgeVerifier implements Verifier {
  readonly name = "model-judge";
  constructor(
    readonly judge: JudgeModel,
    readonly opts: ModelJudgeOptions = {},
  ) {}

  async verify(input: VerifyInput): Promise<Verdict> {
    const shown = (input.answer ?? answerPart(input.text)).trim();
    const top = await this.judge.nextTokens(
      (this.opts.prompt ?? defaultJudgePrompt)(input.question, shown),
      this.opts.topK ?? 20,
    );
    let pYes = 0;
    let pNo = 0;
    for (const t of top) {
      const w = t.text
        .trim()
        .toLowerCase()
        .replace(/[.,!。，！]+$/u, "");
      if (YES.has(w)) pYes += Math.exp(t.logprob);
      else if (NO.has(w)) pNo += Math.exp(t.logprob);
    }
    if (pYes + pNo === 0) return { score: 0.5, detail: "neither yes nor no among the top tokens" };
    return { score: pYes / (pYes + pNo), detail: `P(yes)=${pYes.toFixed(3)} P(no)=${pNo.toFixed(3)}` };
  }
}

/** A JudgeModel over a loaded LLM: one greedy step with top logprobs, thinking switched off in the template. */
export function llmJudge(llm: LLM): JudgeModel {
  return {
    async nextTokens(messages, k) {
      const ids = llm.encodeChat(messages, { enable_thinking: false });
      for await (const c of llm.generate(ids, { maxTokens: 1, temperature: 0, logprobs: k })) {
        if (c.type === "token")
          return (c.top ?? []).map((t) => ({
            text: llm.tokenizer.tokenText(t.id, false),
            logprob: t.logprob,
          }));
      }
      return [];
    },
  };
}
