/**
 * The synthetic SFT corpus: a seeded stream of arithmetic problems (+, -, ×), two-step word
 * problems and conversational turns in English and Chinese, routed to train/val/test by a hash of
 * each problem's canonical key. The split hash uses a fixed salt (not the data seed), so the test
 * split is the same set of problems whatever seed generated the training data; held-out splits
 * are also de-duplicated (one example per key and language).
 */
import { InputError } from "../../errors.js";
import { Rng, hash32 } from "../../sampling/rng.js";
import { chatTurn } from "./chat.js";
import type { Op } from "./columns.js";
import { LANGS, type Lang } from "./lang.js";
import { arithmeticProblem, randomOperand, type Kind, type Problem } from "./problems.js";
import { wordProblem, wordProblemV2 } from "./word.js";
import type { Message } from "./format.js";
import { outOfSkillMath, SYSTEM_PROMPTS } from "./extras.js";
import { bigNoTool, jsonProblem, toolProblem } from "./tools.js";

export type Split = "train" | "val" | "test";
export const SPLITS: readonly Split[] = ["train", "val", "test"];

export interface DataConfig {
  seed: number;
  counts: Record<Split, number>;
  /** relative weights of the example kinds (absent kinds are never drawn) */
  mix: Partial<Record<Kind, number>>;
  /** probability of an English example (else Chinese) */
  english: number;
  /** max digits per operand for + and - */
  addSubDigits: number;
  /** max digits of the first and second factor for × */
  mulDigits: [number, number];
  /** salt of the split hash; change only to redraw the held-out sets */
  splitSalt: string;
  /** permille of keys that go to test and to val */
  testPermille: number;
  valPermille: number;
  /** v2 recipe (absent: v1, the first default model's data, drawn exactly as before) */
  v2?: V2Options;
}

/** What the v2 recipe adds; every probability applies to training examples only, so held-out
 *  questions stay single user turns (the eval reads messages[0] as the question). */
export interface V2Options {
  /** subtraction: share of problems whose operands share their leading digits (8421 - 8420) */
  subClose: number;
  /** word problems: share of two-step stories (the rest are one-step) */
  twoStep: number;
  /** share of "chat" examples that are out-of-skill arithmetic (division, roots...) refused */
  mathRefusal: number;
  /** probability that a training example gets a system prompt */
  system: number;
  /** probability that a training example continues with 1-3 more turns (a multi-turn chat) */
  multiTurn: number;
  /** × in the "run" format (FormatOptions.mulRun): one operation per clause and the running
   *  total of the partial products on every line (absent: the v2 format) */
  mulRun?: boolean;
  /** with mulRun: the carry clause does not copy the product again (`4 × 6 = 24, + 4 = 28`) */
  mulShort?: boolean;
  /** with mulRun: the carry is added to the product's units digit (`7 × 9 = 63, 3 + 1 = 4, write 4,
   *  carry 6`; FormatOptions.mulUnits) */
  mulUnits?: boolean;
  /** tool examples: the calculator's products have a 5..7-digit first factor (long copies) */
  toolLong?: boolean;
  /** ×: probability that the first factor has exactly mulDigits[0] digits (else 1..max, uniform) */
  mulFirstMax?: number;
  /** ×: probability that the second factor has exactly mulDigits[1] digits (else 1..max, uniform;
   *  3 × 3 products need the hundreds digit of the second factor read from ~600 tokens back) */
  mulSecondMax?: number;
  /** share of "chat" draws that are beyond-skill numbers asked without tools: a short decline that
   *  restates the expression (practice copying 5-9 digit numbers; tools.ts bigNoTool) */
  bigCopy?: number;
  /** tool examples: share that call the calculator (default 0.6) */
  toolCalls?: number;
  /** tool calls: the thought before the call starts with the question's expression */
  toolEcho?: boolean;
  /** tool calls: share with a thought before the call (default 0.7; the rest are the call right
   *  after the question, as a forced call starts) */
  toolThought?: number;
  /** tool calls: share of products (default 0.6; the rest long sums/differences and divisions) */
  toolProducts?: number;
  /** tool calls: the expression is copied as the question writes it (× kept; the calculator reads
   *  ×), so the call is an exact copy of the question's numbers and symbol */
  toolVerbatim?: boolean;
  /** share of close subtractions asked the other way round, a negative result (`74 - 77`;
   *  default 0.15) */
  subCloseSwap?: number;
  /** share of + and − draws (not close pairs, not partial sums) with one operand, either side, of
   *  the longest two lengths (addSubDigits − 1 .. addSubDigits digits) and the other as usual:
   *  long operands against short, zero-padded ones, where the shipped model misread a column */
  addSubLong?: number;
  /** subtraction opens with a digit-by-digit comparison of its operands (FormatOptions.subCompare) */
  subCompare?: boolean;
  /** subtraction works a − b in columns first and reads the sign off the borrow out of the top
   *  column (FormatOptions.subBorrowOut) */
  subBorrowOut?: boolean;
  /** with subBorrowOut: the negative result as the complement of the last "so far"
   *  (FormatOptions.subComplement) */
  subComplement?: boolean;
  /** + and − headers grouped by three digits (FormatOptions.digitGroups) */
  digitGroups?: boolean;
  /** + and − column lines carry the operands' digits not used yet (FormatOptions.colLeft) */
  colLeft?: boolean;
  /** two-step word problems carry step 2's operation along step 1 (FormatOptions.wordPending) */
  wordPending?: "end" | "start";
  /** × carries the second factor's unused digits along the working (FormatOptions.mulLeft) */
  mulLeft?: boolean;
  /** tool calls: digits of a long product's first factor (default [5, 7]) */
  toolLongDigits?: [number, number];
  /** share of "add" draws that are the line of a × answer that adds its two partial products:
   *  `p0 + p1` with p0 = a × (b's units digit), p1 = a × (b's tens digit) × 10 for a 2..3-digit a
   *  and a 2-digit b (rendered as that line is: `04302 + 43020`, 5-digit columns) */
  addPartials?: number;
}

export const DEFAULT_DATA_CONFIG: DataConfig = {
  seed: 1,
  counts: { train: 100_000, val: 500, test: 1000 },
  mix: { add: 0.32, sub: 0.28, mul: 0.15, word: 0.15, chat: 0.1 },
  english: 0.6,
  addSubDigits: 4,
  mulDigits: [3, 2],
  splitSalt: "edgellm-split-v1",
  testPermille: 50,
  valPermille: 50,
};

export interface Example {
  split: Split;
  key: string;
  kind: Kind;
  lang: Lang;
  digits?: number;
  answer?: string;
  messages: Message[];
}

export function splitOf(
  key: string,
  cfg: Pick<DataConfig, "splitSalt" | "testPermille" | "valPermille">,
): Split {
  const h = hash32(`${cfg.splitSalt}\u0000${key}`) % 1000;
  if (h < cfg.testPermille) return "test";
  if (h < cfg.testPermille + cfg.valPermille) return "val";
  return "train";
}

function drawKind(rng: Rng, mix: Partial<Record<Kind, number>>): Kind {
  const kinds = Object.keys(mix) as Kind[];
  const total = kinds.reduce((s, k) => s + (mix[k] ?? 0), 0);
  let r = rng.uniform() * total;
  for (const k of kinds) {
    r -= mix[k] ?? 0;
    if (r < 0) return k;
  }
  return kinds[kinds.length - 1];
}

/** Close operands: a has nd digits, b = a minus a small amount (same leading digits). */
function closePair(rng: Rng, maxDigits: number, swap = 0.15): [number, number] {
  const nd = rng.int(2, maxDigits);
  const a = rng.int(10 ** (nd - 1), 10 ** nd - 1);
  const b = Math.max(0, a - rng.int(0, 10 ** rng.int(0, nd - 1)));
  return rng.uniform() < 1 - swap ? [a, b] : [b, a];
}

/** The two partial products a × b adds (its first factor drawn as the "mul" kind draws it, at
 *  least 2 digits; b 2-digit): [a × units(b), a × tens(b) × 10]. */
function partialProducts(rng: Rng, cfg: DataConfig, v2: V2Options): [number, number] {
  const d = cfg.mulDigits[0];
  const a =
    v2.mulFirstMax !== undefined && rng.uniform() < v2.mulFirstMax
      ? rng.int(10 ** (d - 1), 10 ** d - 1)
      : rng.int(10, 10 ** d - 1);
  const b = rng.int(10, 99);
  return [a * (b % 10), a * Math.floor(b / 10) * 10];
}

function drawProblemV2(rng: Rng, cfg: DataConfig, v2: V2Options): Problem {
  const lang: Lang = rng.uniform() < cfg.english ? LANGS[0] : LANGS[1];
  const kind = drawKind(rng, cfg.mix);
  const fmt = {
    stripLine: true,
    mulSwap: true,
    mulRun: v2.mulRun === true,
    mulShort: v2.mulShort === true,
    mulUnits: v2.mulUnits === true,
    subCompare: v2.subCompare === true,
    subBorrowOut: v2.subBorrowOut === true,
    subComplement: v2.subComplement === true,
    mulLeft: v2.mulLeft === true,
    digitGroups: v2.digitGroups === true,
    colLeft: v2.colLeft === true,
    wordPending: v2.wordPending,
  };
  switch (kind) {
    case "word":
      return wordProblemV2(rng, lang, Math.min(3, cfg.addSubDigits), v2.twoStep, fmt);
    case "chat":
      if (v2.bigCopy !== undefined && rng.uniform() < v2.bigCopy) return bigNoTool(rng, lang);
      return rng.uniform() < v2.mathRefusal ? outOfSkillMath(rng, lang) : chatTurn(rng, lang);
    case "tool":
      return toolProblem(
        rng,
        lang,
        fmt,
        rng.uniform() < 0.3 ? rng.pick(SYSTEM_PROMPTS[lang]) : undefined,
        v2.toolLong === true,
        v2.toolCalls,
        v2.toolEcho === true,
        {
          thought: v2.toolThought,
          products: v2.toolProducts,
          verbatim: v2.toolVerbatim === true,
          longDigits: v2.toolLongDigits,
        },
      );
    case "json":
      return jsonProblem(rng, lang);
    case "mul":
      return arithmeticProblem(
        rng,
        "×",
        v2.mulFirstMax !== undefined && rng.uniform() < v2.mulFirstMax
          ? rng.int(10 ** (cfg.mulDigits[0] - 1), 10 ** cfg.mulDigits[0] - 1)
          : randomOperand(rng, cfg.mulDigits[0]),
        v2.mulSecondMax !== undefined && rng.uniform() < v2.mulSecondMax
          ? rng.int(10 ** (cfg.mulDigits[1] - 1), 10 ** cfg.mulDigits[1] - 1)
          : randomOperand(rng, cfg.mulDigits[1]),
        lang,
        fmt,
      );
    case "sub": {
      const [a, b] =
        rng.uniform() < v2.subClose
          ? closePair(rng, cfg.addSubDigits, v2.subCloseSwap)
          : addSubOperands(rng, cfg.addSubDigits, v2.addSubLong);
      return arithmeticProblem(rng, "-", a, b, lang, fmt);
    }
    default:
      if (v2.addPartials !== undefined && rng.uniform() < v2.addPartials) {
        const [p0, p1] = partialProducts(rng, cfg, v2);
        return arithmeticProblem(rng, "+", p0, p1, lang, fmt);
      }
      return arithmeticProblem(rng, "+", ...addSubOperands(rng, cfg.addSubDigits, v2.addSubLong), lang, fmt);
  }
}

/** two operands of up to `digits` digits; with probability `long` one of them (either side) has
 *  digits − 1 or digits digits (V2Options.addSubLong) */
function addSubOperands(rng: Rng, digits: number, long: number | undefined): [number, number] {
  if (long === undefined || digits < 2 || !(rng.uniform() < long))
    return [randomOperand(rng, digits), randomOperand(rng, digits)];
  const nd = rng.int(digits - 1, digits);
  const big = rng.int(10 ** (nd - 1), 10 ** nd - 1);
  const other = randomOperand(rng, digits);
  return rng.uniform() < 0.5 ? [big, other] : [other, big];
}

function messagesOf(p: Problem): Message[] {
  return (
    p.messages ?? [
      { role: "user", content: p.user },
      { role: "assistant", content: p.assistant },
    ]
  );
}

/** v2 training extras: a system prompt and/or more turns, every added turn from the train split. */
function extendV2(rng: Rng, cfg: DataConfig, v2: V2Options, p: Problem): Message[] {
  let msgs = messagesOf(p);
  if (p.kind === "tool" || p.kind === "json") return msgs;
  if (rng.uniform() < v2.multiTurn) {
    const extra = rng.int(1, 3);
    for (let i = 0, tries = 0; i < extra && tries < 20; tries++) {
      const q = drawProblemV2(rng, cfg, v2);
      if (q.kind === "tool" || q.kind === "json" || splitOf(q.key, cfg) !== "train") continue;
      msgs = [...msgs, ...messagesOf(q)];
      i++;
    }
  }
  if (rng.uniform() < v2.system)
    msgs = [{ role: "system", content: rng.pick(SYSTEM_PROMPTS[p.lang]) }, ...msgs];
  return msgs;
}

export function drawProblem(rng: Rng, cfg: DataConfig): Problem {
  if (cfg.v2) return drawProblemV2(rng, cfg, cfg.v2);
  const lang: Lang = rng.uniform() < cfg.english ? LANGS[0] : LANGS[1];
  const kind = drawKind(rng, cfg.mix);
  if (kind === "word") return wordProblem(rng, lang, Math.min(3, cfg.addSubDigits));
  if (kind === "chat") return chatTurn(rng, lang);
  let op: Op;
  let a: number;
  let b: number;
  if (kind === "mul") {
    op = "×";
    a = randomOperand(rng, cfg.mulDigits[0]);
    b = randomOperand(rng, cfg.mulDigits[1]);
  } else {
    op = kind === "add" ? "+" : "-";
    a = randomOperand(rng, cfg.addSubDigits);
    b = randomOperand(rng, cfg.addSubDigits);
  }
  return arithmeticProblem(rng, op, a, b, lang);
}

function validate(cfg: DataConfig): void {
  for (const s of SPLITS) {
    if (!Number.isInteger(cfg.counts[s]) || cfg.counts[s] < 0) {
      throw new InputError(`count for split '${s}' must be a non-negative integer`, { field: `counts.${s}` });
    }
  }
  if (cfg.testPermille + cfg.valPermille >= 1000 || cfg.testPermille < 0 || cfg.valPermille < 0) {
    throw new InputError("testPermille + valPermille must be in [0, 1000)", { field: "testPermille" });
  }
  if (!(cfg.addSubDigits >= 1 && cfg.addSubDigits <= 15)) {
    throw new InputError("addSubDigits must be in 1..15", { field: "addSubDigits" });
  }
}

/**
 * Generates examples until every split has its count. Each split's examples come in generation
 * order; the result is a pure function of the config. Throws if the problem space is too small
 * to fill the held-out splits without repeats.
 */
export function generateDataset(cfg: DataConfig): Record<Split, Example[]> {
  validate(cfg);
  const rng = new Rng(cfg.seed);
  const out: Record<Split, Example[]> = { train: [], val: [], test: [] };
  const seen: Record<Split, Set<string>> = { train: new Set(), val: new Set(), test: new Set() };
  const need = SPLITS.reduce((s, k) => s + cfg.counts[k], 0);
  // give up when this many draws in a row add nothing (every split full or only repeats left)
  const maxStall = 20_000;
  let filled = 0;
  let lastAccept = 0;
  for (let draws = 0; filled < need; draws++) {
    if (draws - lastAccept >= maxStall) {
      throw new InputError(
        `could not fill the splits after ${draws} draws (have ${SPLITS.map((s) => `${s}=${out[s].length}`).join(", ")})`,
        {
          hint: "the problem space is too small for the requested held-out counts: raise the digit limits or lower the counts",
        },
      );
    }
    const p = drawProblem(rng, cfg);
    const split = splitOf(p.key, cfg);
    if (out[split].length >= cfg.counts[split]) continue;
    if (split !== "train") {
      const k = `${p.lang}\u0000${p.key}`;
      if (seen[split].has(k)) continue;
      seen[split].add(k);
    }
    const ex: Example = {
      split,
      key: p.key,
      kind: p.kind,
      lang: p.lang,
      messages: cfg.v2 && split === "train" ? extendV2(rng, cfg, cfg.v2, p) : messagesOf(p),
    };
    if (p.digits !== undefined) ex.digits = p.digits;
    if (p.answer !== undefined) ex.answer = p.answer;
    out[split].push(ex);
    filled++;
    lastAccept = draws;
  }
  return out;
}

/** One JSON object per line, in split order train, val, test. */
export function toJSONL(examples: readonly Example[]): string {
  return examples.map((e) => JSON.stringify(e)).join("\n") + (examples.length ? "\n" : "");
}
