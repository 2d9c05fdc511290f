/**
 * Answer extractors: turn a candidate's text (reasoning + answer) into a short canonical answer
 * string that votes can be counted on. Each extractor returns `undefined` when the text holds no
 * answer of its kind (an unfinished or off-format sample abstains instead of voting for "").
 *
 *   final   "Answer: 42" / "Final answer: 42" / "The answer is 42" / "答案：42" / "最终答案是 42"
 *   boxed   \boxed{42} (balanced braces, the last one wins)
 *   number  the last number in the text (after the thinking block when there is one)
 *   regex   the caller's pattern: group 1 if it has groups, else the whole match (last match wins)
 *   auto    final, then boxed, then number
 */
import { InputError } from "../errors.js";
import { compileUserRegex } from "./user-regex.js";

export type ExtractorName = "final" | "boxed" | "number" | "auto";
export type Extractor = (text: string) => string | undefined;

const THINK_CLOSE = "</think>";

const THINK_OPEN = "<think>";

/**
 * The part after the thinking block: the text after the last `</think>`; "" while a `<think>`
 * is still open (unfinished thinking holds no answer); the whole text when there are no tags.
 */
export function answerPart(text: string): string {
  const i = text.lastIndexOf(THINK_CLOSE);
  const o = text.lastIndexOf(THINK_OPEN);
  if (o > i) return "";
  return i >= 0 ? text.slice(i + THINK_CLOSE.length) : text;
}

/** Canonical form: trimmed, inner whitespace collapsed, trailing period dropped, numbers normalised ("+3.50" -> "3.5", "1,000" -> "1000"). */
export function normalizeAnswer(s: string): string {
  let t = s.trim().replace(/\s+/g, " ");
  t = t.replace(/^\$+|\$+$/g, "").trim(); // $42$ (LaTeX inline)
  t = t.replace(/[.。]+$/u, "").trim();
  const num = t.replace(/(?<=\d),(?=\d{3}\b)/g, "");
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(num)) {
    const v = Number(num);
    if (Number.isFinite(v)) return String(Object.is(v, -0) ? 0 : v);
  }
  return t;
}

// Final-answer line markers, English and Chinese. The answer runs to the end of the line.
const FINAL = [
  /(?:final\s+answer|answer)\s*(?:is)?\s*[:：=]\s*(.+)/gi,
  /the\s+(?:final\s+)?answer\s+is\s*[:：]?\s*(.+)/gi,
  /(?:最终答案|答案)\s*(?:是|为)?\s*[:：]?\s*(.+)/gu,
];

/** The last final-answer line (after the thinking block when there is one). */
export function extractFinal(text: string): string | undefined {
  const body = answerPart(text);
  let best: { at: number; value: string } | undefined;
  for (const re of FINAL) {
    for (const m of body.matchAll(re)) {
      const line = m[1].split(/\r?\n/)[0];
      // "Answer: \boxed{7}" -> 7; "The answer is 30. Hope it helps" -> 30
      const lead = /^\s*\$?([-+]?\d[\d,]*(?:\.\d+)?)(?![\d\p{L}]|\s*[-+*/×÷=^(])/u.exec(line);
      const value = extractBoxed(line) ?? lead?.[1] ?? line;
      if (value.trim() === "") continue;
      if (!best || m.index! >= best.at) best = { at: m.index!, value };
    }
  }
  return best ? normalizeAnswer(best.value) : undefined;
}

/** Content of the last \boxed{...} (or \fbox{...}), braces balanced. */
export function extractBoxed(text: string): string | undefined {
  let found: string | undefined;
  const re = /\\(?:boxed|fbox)\s*\{/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let depth = 1;
    let i = m.index + m[0].length;
    const start = i;
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === "{") depth++;
      else if (text[i] === "}") depth--;
    }
    if (depth === 0) found = text.slice(start, i - 1);
  }
  return found === undefined ? undefined : normalizeAnswer(found);
}

/** The last number (integer, decimal, with optional sign and thousands separators). */
export function extractLastNumber(text: string): string | undefined {
  const body = answerPart(text);
  const all = [...body.matchAll(/(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])/g)];
  return all.length ? normalizeAnswer(all[all.length - 1][0]) : undefined;
}

/**
 * A caller's regex; group 1 if the pattern has groups, else the whole match; last match wins.
 * A string is a caller's pattern and runs on RE2 (linear time, user-regex.ts); a RegExp is the
 * program's own and runs as given.
 */
export function regexExtractor(pattern: string | RegExp): Extractor {
  if (typeof pattern === "string") {
    const re = compileUserRegex(pattern, "answer_regex");
    return (text) => {
      const v = re.lastMatch(answerPart(text));
      return v === undefined ? undefined : normalizeAnswer(v);
    };
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : pattern.flags + "g");
  } catch (e) {
    throw new InputError(`answer regex does not compile: ${(e as Error).message}`, { field: "answer_regex" });
  }
  return (text) => {
    const all = [...answerPart(text).matchAll(re)];
    if (all.length === 0) return undefined;
    const m = all[all.length - 1];
    const v = m.length > 1 ? m[1] : m[0];
    return v === undefined ? undefined : normalizeAnswer(v);
  };
}

export function autoExtract(text: string): string | undefined {
  return extractFinal(text) ?? extractBoxed(answerPart(text)) ?? extractLastNumber(text);
}

/** Resolve a name or a regex into an extractor. */
export function makeExtractor(
  spec: ExtractorName | { regex: string | RegExp } | Extractor = "auto",
): Extractor {
  if (typeof spec === "function") return spec;
  if (typeof spec === "object") return regexExtractor(spec.regex);
  switch (spec) {
    case "final":
      return extractFinal;
    case "boxed":
      return (t) => extractBoxed(answerPart(t));
    case "number":
      return extractLastNumber;
    case "auto":
      return autoExtract;
    default:
      throw new InputError(
        `unknown answer extractor '${spec as string}' (final, boxed, number, auto or a regex)`,
        { field: "extractor" },
      );
  }
}
