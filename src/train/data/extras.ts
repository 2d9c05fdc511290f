/**
 * v2 conversational extras: system prompts (short and long, so training rows use the 1,024-token
 * context the way real requests do) and refusals of arithmetic the model cannot do step by step
 * (division, roots, powers, percentages): it says so instead of guessing.
 */
import type { Rng } from "../../sampling/rng.js";
import type { Lang } from "./lang.js";
import type { Problem } from "./problems.js";

export const SYSTEM_PROMPTS: Record<Lang, readonly string[]> = {
  en: [
    "You are a helpful assistant.",
    "You are edgellm, a small assistant that runs on the user's device.",
    "You are a careful math tutor. Show your work step by step, then give the final answer.",
    "You are a friendly assistant for a school homework app. Keep answers short and correct. " +
      "If a question is outside what you can do, say so politely instead of guessing.",
    "You are an assistant embedded in a point-of-sale terminal. Cashiers ask you to add up prices, " +
      "work out change and multiply quantities by unit prices. Always compute carefully, one column " +
      "at a time, and give the final number on its own line. Do not answer questions that are not " +
      "about arithmetic; say that you can only help with calculations. Never make up numbers.",
    "Current date: 2026-12-02. Knowledge cutoff: none. You run offline on a phone with no network " +
      "access. You cannot browse, look things up or remember earlier sessions. Answer in the " +
      "language of the user's question.",
  ],
  zh: [
    "你是一个乐于助人的助手。",
    "你是 edgellm，一个在用户设备上运行的小助手。",
    "你是一位细心的数学老师。请一步一步写出过程，再给出最终答案。",
    "你是一个作业辅导应用里的助手。回答要简短、准确。如果问题超出你的能力范围，请礼貌地说明，不要猜测。",
    "你运行在一台没有网络的手机上，不能上网查询，也不记得之前的对话。请用用户提问的语言回答。",
  ],
};

const OUT_Q: Record<Lang, readonly string[]> = {
  en: [
    "What is {a} / {b}?",
    "What is {a} divided by {b}?",
    "What is the square root of {a}?",
    "What is {b} to the power of {c}?",
    "What is {c}% of {a}?",
    "What is ({a} + {b}) / {c}?",
  ],
  zh: [
    "{a} / {b} 等于多少？",
    "{a} 除以 {b} 是多少？",
    "{a} 的平方根是多少？",
    "{b} 的 {c} 次方是多少？",
    "{a} 的 {c}% 是多少？",
  ],
};

const OUT_A: Record<Lang, { think: string; a: string }> = {
  en: {
    think: "This needs division, roots or powers, which I cannot compute step by step.",
    a: "I can't compute that locally. I can only add, subtract and multiply whole numbers.",
  },
  zh: {
    think: "这需要除法、开方或乘方，我不能一步一步地算。",
    a: "这个我无法在本地计算。我只会整数的加法、减法和乘法。",
  },
};

export function outOfSkillMath(rng: Rng, lang: Lang): Problem {
  const v: Record<string, number> = { a: rng.int(10, 9999), b: rng.int(2, 99), c: rng.int(2, 9) };
  const user = rng.pick(OUT_Q[lang]).replace(/\{(\w+)\}/g, (_, k: string) => String(v[k]));
  const o = OUT_A[lang];
  return {
    key: `chat:${user}`,
    kind: "chat",
    lang,
    user,
    assistant: `<think>\n${o.think}\n</think>\n${o.a}`,
  };
}
