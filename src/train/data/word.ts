/**
 * Two-step word problems: a short story whose answer needs two column computations in sequence.
 * The chain of thought names each step ("Step 1: 23 + 15"), works it in columns, and carries the
 * result into the next step. Key = the computation chain, independent of names, items, language.
 */
import type { Rng } from "../../sampling/rng.js";
import { columns, type Op } from "./columns.js";
import { WORDS, type Lang } from "./lang.js";
import { thinkAnswer, type Problem } from "./problems.js";

interface Story {
  /** first and second operation; the story's numbers are a (op1) b (op2) c */
  ops: [Op, Op];
  en: string;
  zh: string;
}

const STORIES: readonly Story[] = [
  {
    ops: ["+", "-"],
    en: "{name} has {a} {item}. {Pron} buys {b} more, then gives away {c}. How many {item} does {pron} have now?",
    zh: "{zname}有 {a} 个{zitem}。{zpron}又买了 {b} 个，然后送出 {c} 个。{zpron}现在有多少个{zitem}？",
  },
  {
    ops: ["-", "+"],
    en: "{name} had {a} {item} and lost {b} of them. Then {pron} found {c} more. How many {item} does {pron} have?",
    zh: "{zname}有 {a} 个{zitem}，丢了 {b} 个，后来又找到 {c} 个。{zpron}现在有多少个{zitem}？",
  },
  {
    ops: ["×", "-"],
    en: "There are {a} boxes with {b} {item} in each box. {name} takes out {c} {item}. How many {item} are left?",
    zh: "有 {a} 个盒子，每个盒子里有 {b} 个{zitem}。{zname}拿走了 {c} 个。还剩多少个{zitem}？",
  },
  {
    ops: ["×", "+"],
    en: "{name} buys {a} bags of {item} with {b} in each bag, and gets {c} extra. How many {item} does {pron} get in total?",
    zh: "{zname}买了 {a} 袋{zitem}，每袋 {b} 个，又多得到 {c} 个。{zpron}一共有多少个{zitem}？",
  },
  {
    ops: ["+", "+"],
    en: "{name} picked {a} {item} on Monday, {b} on Tuesday and {c} on Wednesday. How many {item} did {pron} pick?",
    zh: "{zname}星期一摘了 {a} 个{zitem}，星期二摘了 {b} 个，星期三摘了 {c} 个。一共摘了多少个{zitem}？",
  },
];

const NAMES: readonly [string, "he" | "she", string, string][] = [
  ["Tom", "he", "小明", "他"],
  ["Lily", "she", "小红", "她"],
  ["Sam", "he", "小刚", "他"],
  ["Anna", "she", "小丽", "她"],
  ["Ben", "he", "小华", "他"],
  ["Mia", "she", "小美", "她"],
];
const ITEMS: readonly [string, string][] = [
  ["apples", "苹果"],
  ["pencils", "铅笔"],
  ["stickers", "贴纸"],
  ["marbles", "弹珠"],
  ["cards", "卡片"],
  ["eggs", "鸡蛋"],
];

function operand(rng: Rng, op: Op, maxDigits: number): number {
  // multiplication factors stay small (the story's "boxes" and "bags")
  const nd = rng.int(1, op === "×" ? Math.min(2, maxDigits) : maxDigits);
  return nd === 1 ? rng.int(1, 9) : rng.int(10 ** (nd - 1), 10 ** nd - 1);
}

export function wordProblem(rng: Rng, lang: Lang, maxDigits: number): Problem {
  const si = rng.int(0, STORIES.length - 1);
  const st = STORIES[si];
  const [op1, op2] = st.ops;
  const a = operand(rng, op1, maxDigits);
  const b = operand(rng, op1, maxDigits);
  const ab = op1 === "+" ? a + b : op1 === "-" ? a - b : a * b;
  let c = operand(rng, op2, maxDigits);
  // keep every intermediate count non-negative: a story cannot lose more than it has
  let [x, y] = [a, b];
  if (op1 === "-" && b > a) [x, y] = [b, a];
  const first = op1 === "-" ? x - y : ab;
  if (op2 === "-" && c > first) c = rng.int(0, first);
  const [name, pron, zname, zpron] = rng.pick(NAMES);
  const [item, zitem] = rng.pick(ITEMS);
  const text = lang === "en" ? st.en : st.zh;
  const user = text.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v: Record<string, string | number> = {
      a: x,
      b: y,
      c,
      name,
      item,
      zname,
      zitem,
      zpron,
      pron,
      Pron: pron === "he" ? "He" : "She",
    };
    return String(v[k]);
  });
  const w = WORDS[lang];
  const s1 = columns(op1, x, y, lang);
  const s2 = columns(op2, s1.result, c, lang);
  const lines = [
    w.step(1) + `${x} ${op1} ${y}`,
    ...s1.lines,
    w.step(2) + `${s1.result} ${op2} ${c}`,
    ...s2.lines,
  ];
  const answer = String(s2.result);
  return {
    key: `word:${si}:${x}${op1}${y}${op2}${c}`,
    kind: "word",
    lang,
    user,
    assistant: thinkAnswer(lines, answer, lang),
    answer,
    digits: Math.max(String(x).length, String(y).length, String(c).length),
  };
}
