/**
 * Word problems: short stories in English and Chinese whose answer needs one or two column
 * computations. The chain of thought names each step and works it in columns, carrying the result
 * into the next step. Two recipes draw from the same stories, names and items:
 *
 *   v1 (`wordProblem`): two-step stories only    v2 (`wordProblemV2`): one- or two-step stories; the
 *                                                 chain first writes the plan read off the question,
 *                                                 so a one-step story never grows an invented step
 *   Step 1: 35 + 48                               Plan: (35 + 48) - 20
 *   ...                                           Step 1: 35 + 48
 *   Step 2: 83 - 20                               ...
 *   ...                                           Step 2: 83 - 20 ...
 *
 * Key = "word:" (v1) or "word2:" (v2) + story index + the computation chain (independent of names,
 * items, phrasing, language). v1 keeps its own draws (story index 0–4 among its five stories, six
 * names and items, multiplication factors from 1) so its data stays reproducible.
 */
import type { Rng } from "../../sampling/rng.js";
import { columns, type FormatOptions, type Op } from "./columns.js";
import { WORDS, type Lang } from "./lang.js";
import { thinkAnswer, type Problem } from "./problems.js";

interface Story {
  /** one or two operations; the story's numbers are a (op1) b [(op2) c] */
  ops: Op[];
  en: string;
  zh: string;
  /** one of the v1 recipe's five stories */
  v1?: true;
}

const STORIES: readonly Story[] = [
  // one step
  {
    ops: ["+"],
    en: "{name} has {a} {item}. {Pron} buys {b} more. How many {item} does {pron} have now?",
    zh: "{zname}有 {a} 个{zitem}，又买了 {b} 个，现在有多少个？",
  },
  {
    ops: ["+"],
    en: "There are {a} {item} in one box and {b} in another. How many {item} are there in total?",
    zh: "一个盒子里有 {a} 个{zitem}，另一个盒子里有 {b} 个。一共有多少个{zitem}？",
  },
  {
    ops: ["-"],
    en: "{name} had {a} {item} and gave away {b}. How many {item} are left?",
    zh: "{zname}有 {a} 个{zitem}，送给别人 {b} 个，还剩多少个？",
  },
  {
    ops: ["-"],
    en: "A shop had {a} {item}. It sold {b} of them. How many {item} does the shop have now?",
    zh: "商店里有 {a} 个{zitem}，卖掉了 {b} 个。商店现在还有多少个{zitem}？",
  },
  {
    ops: ["×"],
    en: "There are {a} boxes with {b} {item} in each box. How many {item} are there?",
    zh: "有 {a} 个盒子，每个盒子里有 {b} 个{zitem}。一共有多少个{zitem}？",
  },
  {
    ops: ["×"],
    en: "{name} buys {a} bags of {item} with {b} in each bag. How many {item} does {pron} get?",
    zh: "{zname}买了 {a} 袋{zitem}，每袋 {b} 个。{zpron}一共买了多少个{zitem}？",
  },
  // two steps
  {
    ops: ["+", "-"],
    en: "{name} has {a} {item}. {Pron} buys {b} more, then gives away {c}. How many {item} does {pron} have now?",
    zh: "{zname}有 {a} 个{zitem}。{zpron}又买了 {b} 个，然后送出 {c} 个。{zpron}现在有多少个{zitem}？",
    v1: true,
  },
  {
    ops: ["-", "+"],
    en: "{name} had {a} {item} and lost {b} of them. Then {pron} found {c} more. How many {item} does {pron} have?",
    zh: "{zname}有 {a} 个{zitem}，丢了 {b} 个，后来又找到 {c} 个。{zpron}现在有多少个{zitem}？",
    v1: true,
  },
  {
    ops: ["×", "-"],
    en: "There are {a} boxes with {b} {item} in each box. {name} takes out {c} {item}. How many {item} are left?",
    zh: "有 {a} 个盒子，每个盒子里有 {b} 个{zitem}。{zname}拿走了 {c} 个。还剩多少个{zitem}？",
    v1: true,
  },
  {
    ops: ["×", "+"],
    en: "{name} buys {a} bags of {item} with {b} in each bag, and gets {c} extra. How many {item} does {pron} get in total?",
    zh: "{zname}买了 {a} 袋{zitem}，每袋 {b} 个，又多得到 {c} 个。{zpron}一共有多少个{zitem}？",
    v1: true,
  },
  {
    ops: ["+", "+"],
    en: "{name} picked {a} {item} on Monday, {b} on Tuesday and {c} on Wednesday. How many {item} did {pron} pick?",
    zh: "{zname}星期一摘了 {a} 个{zitem}，星期二摘了 {b} 个，星期三摘了 {c} 个。一共摘了多少个{zitem}？",
    v1: true,
  },
  {
    ops: ["-", "-"],
    en: "{name} had {a} {item}. {Pron} gave {b} to a friend and ate {c}. How many {item} are left?",
    zh: "{zname}有 {a} 个{zitem}，给了朋友 {b} 个，又吃了 {c} 个。还剩多少个{zitem}？",
  },
];
const V1_STORIES = STORIES.filter((s) => s.v1);

const NAMES: readonly [string, "he" | "she", string, string][] = [
  ["Tom", "he", "小明", "他"],
  ["Lily", "she", "小红", "她"],
  ["Sam", "he", "小刚", "他"],
  ["Anna", "she", "小丽", "她"],
  ["Ben", "he", "小华", "他"],
  ["Mia", "she", "小美", "她"],
  ["Leo", "he", "小军", "他"],
  ["Emma", "she", "小芳", "她"],
];
const ITEMS: readonly [string, string][] = [
  ["apples", "苹果"],
  ["pencils", "铅笔"],
  ["stickers", "贴纸"],
  ["marbles", "弹珠"],
  ["cards", "卡片"],
  ["eggs", "鸡蛋"],
  ["books", "书"],
  ["oranges", "橘子"],
];
/** the v1 recipe drew names and items from the first six of each list */
const V1_PEOPLE = 6;

/** What one recipe varies: the names and items it draws from, the smallest one-digit factor. */
interface Draw {
  names: readonly (typeof NAMES)[number][];
  items: readonly (typeof ITEMS)[number][];
  minFactor: number;
}
const V1_DRAW: Draw = { names: NAMES.slice(0, V1_PEOPLE), items: ITEMS.slice(0, V1_PEOPLE), minFactor: 1 };
const V2_DRAW: Draw = { names: NAMES, items: ITEMS, minFactor: 2 };

function operand(rng: Rng, op: Op, maxDigits: number, minFactor: number): number {
  // multiplication factors stay small (the story's "boxes" and "bags")
  const nd = rng.int(1, op === "×" ? Math.min(2, maxDigits) : maxDigits);
  return nd === 1 ? rng.int(op === "×" ? minFactor : 1, 9) : rng.int(10 ** (nd - 1), 10 ** nd - 1);
}

function apply(op: Op, x: number, y: number): number {
  return op === "+" ? x + y : op === "-" ? x - y : x * y;
}

/**
 * Tells story `st` with drawn numbers, name and item, works it step by step and returns the
 * problem; `plan` puts the "Plan:" line first (v2).
 */
function tell(
  rng: Rng,
  st: Story,
  key: string,
  lang: Lang,
  maxDigits: number,
  draw: Draw,
  fmt: FormatOptions,
  plan: boolean,
): Problem {
  const [op1, op2] = st.ops;
  let a = operand(rng, op1, maxDigits, draw.minFactor);
  let b = operand(rng, op1, maxDigits, draw.minFactor);
  // a story cannot lose more than it has: the larger number comes first
  if (op1 === "-" && b > a) [a, b] = [b, a];
  const first = apply(op1, a, b);
  let c = op2 ? operand(rng, op2, maxDigits, draw.minFactor) : 0;
  if (op2 === "-" && c > first) c = rng.int(0, first);
  const [name, pron, zname, zpron] = rng.pick(draw.names);
  const [item, zitem] = rng.pick(draw.items);
  const v: Record<string, string | number> = {
    a,
    b,
    c,
    name,
    item,
    zname,
    zitem,
    zpron,
    pron,
    Pron: pron === "he" ? "He" : "She",
  };
  const user = (lang === "en" ? st.en : st.zh).replace(/\{(\w+)\}/g, (_, k: string) => String(v[k]));
  const w = WORDS[lang];
  const s1 = columns(op1, a, b, lang, fmt);
  const lines = plan ? [`${w.plan} ${op2 ? `(${a} ${op1} ${b}) ${op2} ${c}` : `${a} ${op1} ${b}`}`] : [];
  const pending = op2 && fmt.wordPending ? `[${op2} ${c}]` : "";
  const carry = (l: string) =>
    !pending ? l : fmt.wordPending === "start" ? `${pending} ${l}` : `${l} ${pending}`;
  lines.push(w.step(1) + `${a} ${op1} ${b}`, ...s1.lines.map(carry));
  let result = s1.result;
  if (op2) {
    const s2 = columns(op2, s1.result, c, lang, fmt);
    lines.push(w.step(2) + `${s1.result} ${op2} ${c}`, ...s2.lines);
    result = s2.result;
  }
  const answer = String(result);
  return {
    key: `${key}:${a}${op1}${b}${op2 ? `${op2}${c}` : ""}`,
    kind: "word",
    lang,
    user,
    assistant: thinkAnswer(lines, answer, lang),
    answer,
    digits: Math.max(String(a).length, String(b).length, op2 ? String(c).length : 0),
  };
}

/** A two-step story of the v1 recipe (no plan line). */
export function wordProblem(rng: Rng, lang: Lang, maxDigits: number): Problem {
  const si = rng.int(0, V1_STORIES.length - 1);
  return tell(rng, V1_STORIES[si], `word:${si}`, lang, maxDigits, V1_DRAW, {}, false);
}

/** A one- or two-step story of the v2 recipe; `twoStep` is the probability of two steps. */
export function wordProblemV2(
  rng: Rng,
  lang: Lang,
  maxDigits: number,
  twoStep: number,
  fmt: FormatOptions,
): Problem {
  const two = rng.uniform() < twoStep;
  const pool = STORIES.map((s, i) => [s, i] as const).filter(([s]) => s.ops.length === (two ? 2 : 1));
  const [st, si] = rng.pick(pool);
  return tell(rng, st, `word2:${si}`, lang, maxDigits, V2_DRAW, fmt, true);
}
