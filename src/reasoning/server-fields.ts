/**
 * Chat-completions extension fields for reasoning, validated at the edge (400 with `param`):
 *
 *   "enable_thinking": true | false          passed to the chat template (also accepted as
 *                                            chat_template_kwargs.enable_thinking, as vLLM does)
 *   "thinking_budget": 256                   most tokens inside <think>; enforced in decoding
 *   "reasoning": {
 *     "strategy": "greedy" | "self_consistency" | "best_of_n",      (unknown -> 400)
 *     "samples": 8,                          1..16 (k or N)
 *     "early_stop": true,                    self-consistency adaptive stopping (default true)
 *     "agreement": 0.8,                      optional agreement threshold for early stop
 *     "extractor": "auto" | "final" | "boxed" | "number",  or "answer_regex": "..."
 *     "verifier": "arithmetic" | "model_judge" | {"type": "regex", "pattern": "..."}
 *                 | {"type": "json_schema", "schema": {...}} | {"type": "js_tests", "tests": ["..."]},
 *     "selection": "best" | "weighted"       best_of_n (default best)
 *   }
 *
 * Any of these fields turns on the reasoning split: the response carries `reasoning_content`
 * (message and stream deltas) and usage.completion_tokens_details.reasoning_tokens.
 */
import { badRequest } from "../errors.js";
import { compileUserRegex } from "../verify/user-regex.js";
import type { ExtractorName } from "../verify/extract.js";
import { parseStrategy, type StrategyName } from "./strategy.js";
import type { Selection } from "./best-of-n.js";
import type { JSONSchema } from "../verify/json-schema.js";
import type { RequestVerifierSpec as VerifierSpec } from "../verify/spec.js";

export interface ReasoningFields {
  enableThinking: boolean | undefined;
  thinkingBudget: number | undefined;
  strategy:
    | {
        name: StrategyName;
        samples: number;
        earlyStop: boolean;
        agreement: number | undefined;
        extractor: ExtractorName | { regex: string };
        verifier: VerifierSpec | undefined;
        selection: Selection;
      }
    | undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function bool(v: unknown, param: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean")
    throw badRequest(`'${param}' must be a boolean, got ${JSON.stringify(v)}`, param, "invalid_type");
  return v;
}

function int(v: unknown, param: string, lo: number, hi: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v))
    throw badRequest(`'${param}' must be an integer, got ${JSON.stringify(v)}`, param, "invalid_type");
  if (v < lo || v > hi)
    throw badRequest(`'${param}' must be between ${lo} and ${hi}, got ${v}`, param, "invalid_value");
  return v;
}

/** A caller's pattern must compile on RE2 (linear time; user-regex.ts), else 400 naming `param`. */
function userRegex(pattern: string, param: string): void {
  try {
    compileUserRegex(pattern, param);
  } catch (e) {
    throw badRequest((e as Error).message, param, "invalid_value");
  }
}

/** Every string `pattern` keyword in a JSON Schema (an explicit stack; depth was checked at the edge). */
function schemaPatterns(schema: unknown): string[] {
  const out: string[] = [];
  const stack = [schema];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null) continue;
    for (const [k, x] of Object.entries(v)) {
      if (k === "pattern" && typeof x === "string" && !Array.isArray(v)) out.push(x);
      else stack.push(x);
    }
  }
  return out;
}

function verifierSpec(v: unknown): VerifierSpec | undefined {
  const p = "reasoning.verifier";
  if (v === undefined || v === null) return undefined;
  if (v === "arithmetic" || v === "model_judge") return { type: v };
  if (!isObj(v) || typeof v.type !== "string")
    throw badRequest(
      `'${p}' must be "arithmetic", "model_judge" or an object with a 'type'`,
      p,
      "invalid_type",
    );
  switch (v.type) {
    case "arithmetic":
    case "model_judge":
      return { type: v.type };
    case "regex":
      if (typeof v.pattern !== "string" || v.pattern.length === 0)
        throw badRequest(`'${p}.pattern' must be a non-empty string`, `${p}.pattern`, "invalid_type");
      userRegex(v.pattern, `${p}.pattern`);
      return { type: "regex", pattern: v.pattern };
    case "json_schema":
      if (!isObj(v.schema) && typeof v.schema !== "boolean")
        throw badRequest(`'${p}.schema' must be a JSON schema object`, `${p}.schema`, "invalid_type");
      for (const pat of schemaPatterns(v.schema)) userRegex(pat, `${p}.schema`);
      return { type: "json_schema", schema: v.schema as JSONSchema };
    case "js_tests":
      if (
        !Array.isArray(v.tests) ||
        v.tests.length === 0 ||
        v.tests.length > 64 ||
        v.tests.some((t) => typeof t !== "string")
      ) {
        throw badRequest(`'${p}.tests' must be an array of 1..64 strings`, `${p}.tests`, "invalid_type");
      }
      return { type: "js_tests", tests: v.tests as string[] };
    default:
      throw badRequest(
        `unknown verifier type ${JSON.stringify(v.type)} (arithmetic, model_judge, regex, json_schema, js_tests)`,
        `${p}.type`,
        "invalid_value",
      );
  }
}

/** Parse the extension fields of a chat body (already known to be an object); undefined when none is present. */
export function parseReasoningFields(b: Obj, stream: boolean): ReasoningFields | undefined {
  const kw = b.chat_template_kwargs;
  if (kw !== undefined && kw !== null && !isObj(kw))
    throw badRequest("'chat_template_kwargs' must be an object", "chat_template_kwargs", "invalid_type");
  const enableThinking =
    bool(b.enable_thinking, "enable_thinking") ??
    (isObj(kw) ? bool(kw.enable_thinking, "chat_template_kwargs.enable_thinking") : undefined);
  const thinkingBudget = int(b.thinking_budget, "thinking_budget", 0, 1e6);
  if (thinkingBudget !== undefined && enableThinking === false)
    throw badRequest("'thinking_budget' needs thinking; 'enable_thinking' is false", "thinking_budget");
  let strategy: ReasoningFields["strategy"];
  const r = b.reasoning;
  if (r !== undefined && r !== null) {
    if (!isObj(r)) throw badRequest("'reasoning' must be an object", "reasoning", "invalid_type");
    for (const k of Object.keys(r)) {
      if (
        ![
          "strategy",
          "samples",
          "early_stop",
          "agreement",
          "extractor",
          "answer_regex",
          "verifier",
          "selection",
        ].includes(k)
      )
        throw badRequest(`unknown field 'reasoning.${k}'`, `reasoning.${k}`, "invalid_value");
    }
    let name: StrategyName;
    try {
      name = parseStrategy(r.strategy ?? "greedy");
    } catch (e) {
      throw badRequest((e as Error).message, "reasoning.strategy", "invalid_value");
    }
    const samples = int(r.samples, "reasoning.samples", 1, 16) ?? (name === "greedy" ? 1 : 8);
    const agreement = r.agreement;
    if (agreement !== undefined && (typeof agreement !== "number" || !(agreement > 0 && agreement <= 1)))
      throw badRequest(
        "'reasoning.agreement' must be a number in (0, 1]",
        "reasoning.agreement",
        "invalid_value",
      );
    let extractor: ExtractorName | { regex: string } = "auto";
    if (r.answer_regex !== undefined) {
      if (typeof r.answer_regex !== "string")
        throw badRequest(
          "'reasoning.answer_regex' must be a string",
          "reasoning.answer_regex",
          "invalid_type",
        );
      userRegex(r.answer_regex, "reasoning.answer_regex");
      extractor = { regex: r.answer_regex };
    } else if (r.extractor !== undefined) {
      if (!["auto", "final", "boxed", "number"].includes(r.extractor as string))
        throw badRequest(
          "'reasoning.extractor' must be auto, final, boxed or number",
          "reasoning.extractor",
          "invalid_value",
        );
      extractor = r.extractor as ExtractorName;
    }
    const verifier = verifierSpec(r.verifier);
    if (name === "best_of_n" && !verifier)
      throw badRequest("best_of_n needs 'reasoning.verifier'", "reasoning.verifier");
    const selection = r.selection ?? "best";
    if (selection !== "best" && selection !== "weighted")
      throw badRequest(
        "'reasoning.selection' must be best or weighted",
        "reasoning.selection",
        "invalid_value",
      );
    if (name !== "greedy" && stream)
      throw badRequest(
        `'reasoning.strategy' ${name} returns one chosen answer and cannot stream; set stream: false`,
        "stream",
        "unsupported",
      );
    if (name !== "greedy" && b.n !== undefined && b.n !== null && b.n !== 1)
      throw badRequest("'n' must be 1 with a reasoning strategy (use reasoning.samples)", "n");
    strategy = {
      name,
      samples,
      earlyStop: bool(r.early_stop, "reasoning.early_stop") ?? true,
      agreement: agreement as number | undefined,
      extractor,
      verifier,
      selection,
    };
  }
  if (enableThinking === undefined && thinkingBudget === undefined && !strategy) return undefined;
  return { enableThinking, thinkingBudget, strategy };
}
