/**
 * Tool-call and JSON-output examples of the v2 recipe, rendered exactly as the server renders a
 * request for the default model's ChatML template (which has no tool syntax of its own): the tool
 * definitions go into a system message (tools/prompt.ts fallbackToolSystemPrompt, Hermes
 * `<tool_call>` syntax), the call is the assistant's content, and the tool's result comes back as
 * a user turn `<tool_response>\n...\n</tool_response>`.
 *
 *   tool   questions beyond the model's skill (big products, long sums, division) -> a calculator
 *          call, then the answer from the result; in-skill questions with tools offered -> the
 *          usual column work, no call; out-of-skill chat with tools offered -> the usual refusal
 *   json   a system prompt asking for JSON and a small question -> a bare JSON object (the server's
 *          response_format grammar allows no <think> before the object)
 */
import { calculatorTool } from "../../tools/builtin/calculator.js";
import { fallbackToolSystemPrompt, hermesToolCall } from "../../tools/prompt.js";
import type { Rng } from "../../sampling/rng.js";
import { chatTurn } from "./chat.js";
import type { FormatOptions, Op } from "./columns.js";
import type { Message } from "./format.js";
import type { Lang } from "./lang.js";
import { arithmeticProblem, fill, type Problem } from "./problems.js";

export const TOOL_SYSTEM = fallbackToolSystemPrompt([calculatorTool.definition]);

const BIG_Q: Record<Lang, readonly string[]> = {
  en: ["What is {e}?", "Calculate {e}.", "Please compute {e}.", "{e} = ?"],
  zh: ["{e} 等于多少？", "计算 {e}。", "请算一下 {e}。"],
};

const USE_TOOL: Record<Lang, string> = {
  en: "These numbers are beyond what I can compute step by step. I will use the calculator.",
  zh: "这些数超出了我能一步一步计算的范围。我来用计算器。",
};
const USE_TOOL_ECHO: Record<Lang, string> = {
  en: "these numbers are beyond what I can compute step by step. I will use the calculator.",
  zh: USE_TOOL.zh,
};
const ECHO_SEP: Record<Lang, string> = { en: ": ", zh: "：" };
const GOT: Record<Lang, (r: string) => string> = {
  en: (r) => `The calculator returned ${r}.`,
  zh: (r) => `计算器返回了 ${r}。`,
};
const ANSWER: Record<Lang, (r: string) => string> = {
  en: (r) => `The answer is ${r}.`,
  zh: (r) => `答案是 ${r}。`,
};

function digits(rng: Rng, lo: number, hi: number): number {
  const nd = rng.int(lo, hi);
  return rng.int(10 ** (nd - 1), 10 ** nd - 1);
}

/** An arithmetic question beyond the column skill: [question symbol, calculator expression, result];
 *  `long`: products' first factor has 5..7 digits (practice copying long numbers into the call);
 *  `products`: share of products (the rest: half long sums/differences, half exact divisions);
 *  `verbatim`: the calculator expression is the question's own (× kept: the calculator reads it) */
function bigProblem(
  rng: Rng,
  long: boolean,
  products = 0.6,
  verbatim = false,
  longDigits: [number, number] = [5, 7],
): [string, string, string] {
  const r = rng.uniform();
  if (r < products) {
    // products: 4..7 digits x 2..4 digits, or 3 x 3 digits (long: longDigits x 2..4 digits)
    const a = long ? digits(rng, longDigits[0], longDigits[1]) : digits(rng, 3, 7);
    const b = a < 1000 ? digits(rng, 3, 3) : digits(rng, 2, 4);
    return [`${a} × ${b}`, verbatim ? `${a} × ${b}` : `${a} * ${b}`, String(a * b)];
  }
  if (r < products + (1 - products) / 2) {
    const a = digits(rng, 7, 9);
    const b = digits(rng, 5, 9);
    return rng.uniform() < 0.5
      ? [`${a} + ${b}`, `${a} + ${b}`, String(a + b)]
      : [`${a} - ${b}`, `${a} - ${b}`, String(a - b)];
  }
  // division with an exact quotient (the calculator would print a decimal otherwise)
  const q = digits(rng, 1, 4);
  const b = digits(rng, 1, 3);
  return [`${q * b} / ${b}`, `${q * b} / ${b}`, String(q)];
}

function toolCall(expression: string): string {
  // the bytes the server's forced-call grammar writes and its history render shows
  return hermesToolCall("calculator", { expression });
}

/** How tool calls are written (V2Options: toolThought, toolProducts, toolVerbatim) */
export interface CallStyle {
  /** share of calls with a thought before the call (default 0.7; the rest start with <tool_call>) */
  thought?: number;
  /** share of calls that are products (default 0.6) */
  products?: number;
  /** the call's expression is the question's expression as written (× kept) */
  verbatim?: boolean;
  /** digits of a long product's first factor (default [5, 7]) */
  longDigits?: [number, number];
}

export function toolProblem(
  rng: Rng,
  lang: Lang,
  fmt: FormatOptions,
  userSystem?: string,
  longProducts = false,
  callShare = 0.6,
  echo = false,
  style: CallStyle = {},
): Problem {
  const system: Message = {
    role: "system",
    content: userSystem ? `${userSystem}\n\n${TOOL_SYSTEM}` : TOOL_SYSTEM,
  };
  // the in-skill / out-of-skill branches below keep their 3:1 ratio whatever callShare is
  const r0 = rng.uniform();
  const r = callShare === 0.6 ? r0 : r0 < callShare ? 0 : 0.6 + ((r0 - callShare) / (1 - callShare)) * 0.4;
  if (r0 < callShare) {
    const [shown, expr, result] = bigProblem(
      rng,
      longProducts,
      style.products,
      style.verbatim === true,
      style.longDigits,
    );
    const user = fill(rng.pick(BIG_Q[lang]), { e: shown });
    // most calls come after a short thought; some directly (a forced call starts with <tool_call>)
    // echo: the thought starts by restating the question's expression (as every column answer's
    // first line does), so the call copies it from the line above
    const thought = echo ? `${shown}${ECHO_SEP[lang]}${USE_TOOL_ECHO[lang]}` : USE_TOOL[lang];
    const call =
      rng.uniform() < (style.thought ?? 0.7)
        ? `<think>\n${thought}\n</think>\n${toolCall(expr)}`
        : toolCall(expr);
    const messages: Message[] = [
      system,
      { role: "user", content: user },
      { role: "assistant", content: call },
      { role: "user", content: `<tool_response>\n${result}\n</tool_response>` },
      { role: "assistant", content: `<think>\n${GOT[lang](result)}\n</think>\n${ANSWER[lang](result)}` },
    ];
    return { key: `tool:${expr}`, kind: "tool", lang, user, assistant: "", answer: result, messages };
  }
  // tools offered, but the question is within skill (or out of skill entirely): no call
  let p: Problem;
  if (r < 0.9) {
    const op: Op = rng.pick(["+", "-", "×"] as const);
    const a = op === "×" ? digits(rng, 1, 3) : digits(rng, 1, 4);
    const b = op === "×" ? digits(rng, 1, 1) : digits(rng, 1, 4);
    p = arithmeticProblem(rng, op, a, b, lang, fmt);
  } else p = chatTurn(rng, lang);
  return {
    ...p,
    key: `tool:${p.key}`,
    kind: "tool",
    messages: [system, { role: "user", content: p.user }, { role: "assistant", content: p.assistant }],
  };
}

const NO_TOOL: Record<Lang, { think: string; a: string }> = {
  en: {
    think: "{e}: these numbers are beyond what I can compute step by step, and no calculator is offered.",
    a: "I cannot compute {e} exactly without a calculator.",
  },
  zh: {
    think: "{e}：这些数超出了我能一步一步计算的范围，也没有计算器可用。",
    a: "没有计算器，我无法准确计算 {e}。",
  },
};

/** A beyond-skill product or long sum asked without tools: a decline that restates the expression
 *  twice (copying 5-9 digit numbers, which the column data never has: questions there have at most
 *  4-digit operands, and the model learned to copy at most 4 digits) */
export function bigNoTool(rng: Rng, lang: Lang): Problem {
  let shown: string;
  if (rng.uniform() < 0.7) shown = `${digits(rng, 5, 7)} × ${digits(rng, 2, 4)}`;
  else shown = `${digits(rng, 7, 9)} ${rng.pick(["+", "-"] as const)} ${digits(rng, 5, 9)}`;
  const user = fill(rng.pick(BIG_Q[lang]), { e: shown });
  const o = NO_TOOL[lang];
  return {
    key: `chat:big:${shown}`,
    kind: "chat",
    lang,
    user,
    assistant: `<think>\n${fill(o.think, { e: shown })}\n</think>\n${fill(o.a, { e: shown })}`,
  };
}

const JSON_SYSTEM: Record<Lang, readonly string[]> = {
  en: [
    'Reply only with a JSON object of the form {"answer": <number>}.',
    'You are a calculator API. Output JSON: {"answer": <integer>}. No other text.',
    "Answer in JSON.",
  ],
  zh: ['只用 JSON 回答，格式为 {"answer": <数字>}。', "请用 JSON 格式回答。"],
};

export function jsonProblem(rng: Rng, lang: Lang): Problem {
  const op: Op = rng.pick(["+", "-", "×"] as const);
  // small enough to answer without column work
  const a = op === "×" ? rng.int(0, 9) : rng.int(0, 20);
  const b = op === "×" ? rng.int(0, 9) : rng.int(0, op === "-" ? a : 20);
  const q = arithmeticProblem(rng, op, a, b, lang);
  const content = JSON.stringify({ answer: Number(q.answer) });
  const messages: Message[] = [
    { role: "system", content: rng.pick(JSON_SYSTEM[lang]) },
    { role: "user", content: q.user },
    { role: "assistant", content },
  ];
  return {
    key: `json:${q.key}`,
    kind: "json",
    lang,
    user: q.user,
    assistant: content,
    answer: q.answer,
    messages,
  };
}
