/**
 * Full-text tool-call parsers, one per format (see formats.ts for the shapes). Text outside the
 * tool-call markup is returned as content. A section that does not parse is kept as content
 * rather than dropped, so nothing the model wrote is lost.
 */
import { InputError } from "../errors.js";
import { FORMATS, type ToolFormat, type ToolFormatName } from "./formats.js";
import { parseJsonAt } from "./json-scan.js";
import { newToolCallId, type ParsedTurn, type ToolCall } from "./types.js";
import { isObj } from "../json.js";

/** Arguments as OpenAI sends them: a JSON text of an object. */
function argsText(a: unknown): string | undefined {
  if (a === undefined) return "{}";
  if (isObj(a)) return JSON.stringify(a);
  if (typeof a === "string") {
    try {
      if (isObj(JSON.parse(a))) return a;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** {"name": ..., "arguments"|"parameters": {...}} -> ToolCall, or undefined. */
export function callFromObject(o: unknown): ToolCall | undefined {
  if (!isObj(o) || typeof o.name !== "string" || o.name === "") return undefined;
  const args = argsText(o.arguments ?? o.parameters);
  if (args === undefined) return undefined;
  return {
    id: typeof o.id === "string" && o.id ? o.id : newToolCallId(),
    type: "function",
    function: { name: o.name, arguments: args },
  };
}

function call(name: string, args: unknown): ToolCall | undefined {
  return callFromObject({ name: name.trim(), arguments: args });
}

function parseHermes(text: string): ParsedTurn {
  const { start, end } = FORMATS.hermes;
  const calls: ToolCall[] = [];
  let content = "";
  let i = 0;
  for (;;) {
    const s = text.indexOf(start, i);
    if (s < 0) break;
    const e = text.indexOf(end!, s + start.length);
    const inner = text.slice(s + start.length, e < 0 ? text.length : e);
    const stop = e < 0 ? text.length : e + end!.length;
    const parsed = parseJsonAt(inner, 0);
    const c = parsed && inner.slice(parsed[1]).trim() === "" ? callFromObject(parsed[0]) : undefined;
    content += text.slice(i, s);
    if (c) calls.push(c);
    else content += text.slice(s, stop);
    i = stop;
  }
  content += text.slice(i);
  return { content: content.trim(), toolCalls: calls };
}

function parseLlama3(text: string): ParsedTurn {
  let body = text.trim();
  const tagged = body.startsWith(FORMATS.llama3.start);
  if (tagged) body = body.slice(FORMATS.llama3.start.length).trim();
  if (!body.startsWith("{")) return { content: text.trim(), toolCalls: [] };
  // One or more JSON objects, separated by ';' or whitespace.
  const calls: ToolCall[] = [];
  let i = 0;
  while (i < body.length) {
    const parsed = parseJsonAt(body, i);
    const c = parsed && callFromObject(parsed[0]);
    if (!parsed || !c) return { content: text.trim(), toolCalls: [] };
    calls.push(c);
    i = parsed[1];
    while (i < body.length && /[\s;]/.test(body[i])) i++;
  }
  return { content: "", toolCalls: calls };
}

function parseMistral(text: string): ParsedTurn {
  const marker = FORMATS.mistral.start;
  const s = text.indexOf(marker);
  if (s < 0) return { content: text.trim(), toolCalls: [] };
  const content = text.slice(0, s);
  const rest = text.slice(s);
  const calls: ToolCall[] = [];
  let i = 0;
  while (i < rest.length) {
    if (!rest.startsWith(marker, i)) break;
    i += marker.length;
    const ws = rest.slice(i).match(/^\s*/)![0].length;
    if (rest[i + ws] === "[") {
      // v3: a JSON array of {"name", "arguments", "id"?}
      const parsed = parseJsonAt(rest, i);
      if (!parsed || !Array.isArray(parsed[0])) return { content: text.trim(), toolCalls: [] };
      for (const o of parsed[0]) {
        const c = callFromObject(o);
        if (!c) return { content: text.trim(), toolCalls: [] };
        calls.push(c);
      }
      i = parsed[1];
    } else {
      // v11+: name[ARGS]{...} (optionally name[CALL_ID]id[ARGS]{...})
      const a = rest.indexOf("[ARGS]", i);
      if (a < 0) return { content: text.trim(), toolCalls: [] };
      const name = rest.slice(i, a).replace(/\[CALL_ID\].*$/s, "");
      const parsed = parseJsonAt(rest, a + 6);
      const c = parsed && call(name, parsed[0]);
      if (!c) return { content: text.trim(), toolCalls: [] };
      calls.push(c);
      i = parsed[1];
    }
    while (i < rest.length && /\s/.test(rest[i])) i++;
  }
  const tail = rest.slice(i).replace(/<\/s>$/, "");
  return { content: (content + tail).trim(), toolCalls: calls };
}

const DS_CALL_BEGIN = "<｜tool▁call▁begin｜>";
const DS_CALL_END = "<｜tool▁call▁end｜>";
const DS_SEP = "<｜tool▁sep｜>";

function parseDeepseek(text: string): ParsedTurn {
  const { start, end } = FORMATS.deepseek;
  const s = text.indexOf(start);
  if (s < 0) return { content: text.trim(), toolCalls: [] };
  const e = text.indexOf(end!, s);
  const section = text.slice(s + start.length, e < 0 ? text.length : e);
  const after = e < 0 ? "" : text.slice(e + end!.length);
  const calls: ToolCall[] = [];
  let i = 0;
  for (;;) {
    const b = section.indexOf(DS_CALL_BEGIN, i);
    if (b < 0) break;
    const ce = section.indexOf(DS_CALL_END, b);
    const inner = section.slice(b + DS_CALL_BEGIN.length, ce < 0 ? section.length : ce);
    const sep = inner.indexOf(DS_SEP);
    if (sep < 0) return { content: text.trim(), toolCalls: [] };
    const head = inner.slice(0, sep);
    const tailText = inner.slice(sep + DS_SEP.length);
    let name: string;
    let argsSrc: string;
    if (head.trim() === "function") {
      // V3/R1: function<sep>name\n```json\n{...}\n```
      const nl = tailText.indexOf("\n");
      name = nl < 0 ? tailText : tailText.slice(0, nl);
      argsSrc = (nl < 0 ? "" : tailText.slice(nl + 1))
        .replace(/^\s*```(?:json)?\s*/, "")
        .replace(/\s*```\s*$/, "");
    } else {
      name = head; // V3.1: name<sep>{...}
      argsSrc = tailText;
    }
    const parsed = parseJsonAt(argsSrc, 0);
    const c = parsed && argsSrc.slice(parsed[1]).trim() === "" ? call(name, parsed[0]) : undefined;
    if (!c) return { content: text.trim(), toolCalls: [] };
    calls.push(c);
    i = ce < 0 ? section.length : ce + DS_CALL_END.length;
  }
  return { content: (text.slice(0, s) + after).trim(), toolCalls: calls };
}

const PARSERS: Record<ToolFormatName, (t: string) => ParsedTurn> = {
  hermes: parseHermes,
  llama3: parseLlama3,
  mistral: parseMistral,
  deepseek: parseDeepseek,
};

/** Split a complete model output into content and tool calls. */
export function parseToolCalls(text: string, format: ToolFormat | ToolFormatName): ParsedTurn {
  if (typeof text !== "string") throw new InputError("model output must be a string");
  const name = typeof format === "string" ? format : format.name;
  const p = PARSERS[name];
  if (!p)
    throw new InputError(`unknown tool-call format '${String(name)}'`, {
      hint: Object.keys(PARSERS).join(", "),
    });
  return p(text);
}
