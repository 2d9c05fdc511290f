/**
 * Grammars for tool calls: the call markup of the template's format, the tool's name, and its
 * arguments under the tool's JSON Schema, so a started call always parses and validates.
 *
 * tool_choice: "none" -> no grammar; "auto" -> lazy (free text until the format's start marker,
 * or for llama3 a reply starting with '{'); "required" -> one or more calls from the start;
 * {function: {name}} -> that tool only. parallel_tool_calls false -> exactly one call.
 */
import { InputError } from "../errors.js";
import {
  gbnfLiteral,
  GrammarMatcher,
  JSON_PRIMITIVES,
  LazyGrammarMatcher,
  type LazyOptions,
  parseGBNF,
  primitivesFor,
  SchemaCompiler,
  TokenGrammar,
  VocabIndex,
  type TokenVocab,
} from "../sampling/grammar/index.js";
import { FORMATS, type ToolFormat, type ToolFormatName } from "./formats.js";
import { validateTools } from "./prompt.js";
import type { ToolChoice, ToolDefinition } from "./types.js";

export interface ToolGrammarSpec {
  gbnf: string;
  /** Lazy grammar triggers (tool_choice auto); undefined = constrained from the first token. */
  triggers?: string[];
  atStart?: boolean;
  /** Marker texts that may be single control tokens in the vocabulary. */
  markers: string[];
}

const DS = {
  begin: "<｜tool▁calls▁begin｜>",
  end: "<｜tool▁calls▁end｜>",
  callBegin: "<｜tool▁call▁begin｜>",
  callEnd: "<｜tool▁call▁end｜>",
  sep: "<｜tool▁sep｜>",
};

function selectTools(tools: ToolDefinition[], choice: ToolChoice): ToolDefinition[] {
  if (typeof choice === "object") {
    const name = choice?.function?.name;
    const t = tools.find((x) => x.function.name === name);
    if (!t)
      throw new InputError(`tool_choice names unknown function '${String(name)}'`, { field: "tool_choice" });
    return [t];
  }
  if (choice !== "auto" && choice !== "required")
    throw new InputError(`bad tool_choice '${String(choice)}'`, {
      field: "tool_choice",
      hint: "auto, none, required or {type: 'function', function: {name}}",
    });
  return tools;
}

/** GBNF (and lazy triggers) for calls to `tools` in `format`; undefined for tool_choice "none". */
export function gbnfForTools(
  tools: ToolDefinition[],
  toolChoice: ToolChoice = "auto",
  format: ToolFormat | ToolFormatName = "hermes",
  parallel = true,
): ToolGrammarSpec | undefined {
  if (toolChoice === "none") return undefined;
  validateTools(tools);
  if (tools.length === 0) throw new InputError("tool_choice needs at least one tool", { field: "tools" });
  const fmt = typeof format === "string" ? format : format.name;
  const chosen = selectTools(tools, toolChoice);
  const rules = new Map<string, string>();
  const callAlts: string[] = [];
  chosen.forEach((t, i) => {
    const { root, rules: r } = new SchemaCompiler(
      t.function.parameters ?? { type: "object" },
      `t${i}-`,
    ).compileRules("args");
    for (const [k, v] of r) rules.set(k, v);
    const name = t.function.name;
    const nameJ = gbnfLiteral(JSON.stringify(name));
    let call: string;
    switch (fmt) {
      case "hermes":
        call = `"<tool_call>\\n{\\"name\\": " ${nameJ} ", \\"arguments\\": " ${root} "}\\n</tool_call>"`;
        break;
      case "llama3":
        call = `"{\\"name\\": " ${nameJ} ", \\"parameters\\": " ${root} "}"`;
        break;
      case "mistral":
        call = `"{\\"name\\": " ${nameJ} ", \\"arguments\\": " ${root} "}"`;
        break;
      case "deepseek":
        call = `${gbnfLiteral(DS.callBegin + "function" + DS.sep + name + "\n```json\n")} ${root} ${gbnfLiteral("\n```" + DS.callEnd)}`;
        break;
      default:
        throw new InputError(`unknown tool-call format '${String(fmt)}'`);
    }
    callAlts.push(call);
  });
  const lines: string[] = [`call ::= ${callAlts.join(" | ")}`];
  const many = (sep: string) => (parallel ? `call ( ${sep} call )*` : "call");
  let markers: string[];
  switch (fmt) {
    case "hermes":
      lines.unshift(`root ::= ${many('"\\n"')}`);
      markers = ["<tool_call>", "</tool_call>"];
      break;
    case "llama3":
      lines.unshift(`root ::= ${gbnfLiteral(FORMATS.llama3.start)}? ${many('"; "')}`);
      markers = [FORMATS.llama3.start];
      break;
    case "mistral":
      lines.unshift(`root ::= "[TOOL_CALLS][" ${many('", "')} "]"`);
      markers = ["[TOOL_CALLS]"];
      break;
    default:
      lines.unshift(`root ::= ${gbnfLiteral(DS.begin)} ${many('""')} ${gbnfLiteral(DS.end)}`);
      markers = [DS.begin, DS.end, DS.callBegin, DS.callEnd, DS.sep];
  }
  for (const [k, v] of rules) lines.push(`${k} ::= ${v}`);
  for (const p of primitivesFor([...rules.values(), ...lines])) lines.push(`${p} ::= ${JSON_PRIMITIVES[p]}`);
  const gbnf = lines.join("\n");
  parseGBNF(gbnf); // fail here, with the tool named in the error, rather than at first use
  if (toolChoice !== "auto") return { gbnf, markers };
  if (fmt === "llama3") return { gbnf, markers, triggers: [FORMATS.llama3.start, "{"], atStart: true };
  return { gbnf, markers, triggers: [FORMATS[fmt].start] };
}

/** Vocabulary index that matches the format's control-token markers by their text. */
function indexWithMarkers(
  vocab: TokenVocab & { tokenId?(t: string): number | undefined },
  markers: string[],
): VocabIndex {
  const special = markers.map((m) => vocab.tokenId?.(m)).filter((x): x is number => x !== undefined);
  if (special.length === 0) return VocabIndex.of(vocab);
  const key = special.sort((a, b) => a - b).join(",");
  let per = markerIndexes.get(vocab);
  if (!per) markerIndexes.set(vocab, (per = new Map()));
  let vi = per.get(key);
  if (!vi) per.set(key, (vi = new VocabIndex(vocab, special)));
  return vi;
}
const markerIndexes = new WeakMap<object, Map<string, VocabIndex>>();

/**
 * Compile the tool grammar once and hand out fresh matchers (one per sample: a matcher holds
 * state) that share the token grammar and its mask cache. undefined for tool_choice "none".
 */
export function toolConstraintFactory(
  tools: ToolDefinition[],
  toolChoice: ToolChoice,
  format: ToolFormat | ToolFormatName,
  vocab: TokenVocab & { tokenId?(t: string): number | undefined },
  parallel = true,
  /** tool_choice auto: a reasoning block (<think>...</think>) whose text never triggers. */
  skipBlock?: LazyOptions["skipBlock"],
): (() => GrammarMatcher | LazyGrammarMatcher) | undefined {
  const spec = gbnfForTools(tools, toolChoice, format, parallel);
  if (!spec) return undefined;
  const tg = new TokenGrammar(parseGBNF(spec.gbnf), indexWithMarkers(vocab, spec.markers));
  const triggers = spec.triggers;
  return triggers
    ? () => new LazyGrammarMatcher(tg, triggers, { atStart: spec.atStart, skipBlock })
    : () => new GrammarMatcher(tg);
}

/** A matcher for tool calls (lazy for tool_choice auto), or undefined for tool_choice "none". */
export function grammarForTools(
  tools: ToolDefinition[],
  toolChoice: ToolChoice,
  format: ToolFormat | ToolFormatName,
  vocab: TokenVocab & { tokenId?(t: string): number | undefined },
  parallel = true,
): GrammarMatcher | LazyGrammarMatcher | undefined {
  return toolConstraintFactory(tools, toolChoice, format, vocab, parallel)?.();
}

/**
 * The vocabulary's reasoning block, if it has `<think>`/`</think>` tokens: under tool_choice auto
 * a `<tool_call>` the model writes while thinking must not start a constrained call. startInside
 * when the rendered prompt already opened the block (templates that prefill `<think>`).
 */
export function thinkingBlock(
  vocab: { tokenId?(t: string): number | undefined },
  prompt: string,
): { open: string; close: string; startInside: boolean } | undefined {
  if (vocab.tokenId?.("<think>") === undefined || vocab.tokenId?.("</think>") === undefined) return undefined;
  return { open: "<think>", close: "</think>", startInside: /<think>\s*$/.test(prompt) };
}
