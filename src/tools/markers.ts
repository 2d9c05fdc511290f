/**
 * Tool-call markers that are control tokens in some vocabularies (DeepSeek's
 * `<｜tool▁calls▁begin｜>`..., Llama 3.1's `<|python_tag|>`, Mistral's `[TOOL_CALLS]`/`[ARGS]`):
 * the detokenizer drops control tokens, so their text never reaches the tool-call parser. The
 * grammar lets the model emit them (tool-grammar.ts matches them by text); this map puts their
 * text back into the stream the parser reads, token by token. Markers that are ordinary text
 * tokens (Qwen's `<tool_call>`) are decoded anyway and are not in the map.
 */
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { FORMATS, type ToolFormat, type ToolFormatName } from "./formats.js";

const MARKERS: Record<ToolFormatName, string[]> = {
  hermes: [FORMATS.hermes.start, FORMATS.hermes.end!],
  llama3: [FORMATS.llama3.start],
  mistral: [FORMATS.mistral.start, "[ARGS]", "[CALL_ID]"],
  deepseek: [
    "<｜tool▁calls▁begin｜>",
    "<｜tool▁calls▁end｜>",
    "<｜tool▁call▁begin｜>",
    "<｜tool▁call▁end｜>",
    "<｜tool▁sep｜>",
  ],
};

/** Control-token id -> marker text, for the format's markers the detokenizer would drop. */
export function droppedMarkers(tok: Tokenizer, format: ToolFormat | ToolFormatName): Map<number, string> {
  const name = typeof format === "string" ? format : format.name;
  const out = new Map<number, string>();
  for (const m of MARKERS[name]) {
    const id = tok.tokenId(m);
    if (id !== undefined && tok.tokenBytes(id).length === 0 && !tok.isEog(id)) out.set(id, m);
  }
  return out;
}

/** A token's text for the tool-call parser: the marker's text for a dropped marker, else `text`. */
export function markerAware(markers: ReadonlyMap<number, string>): (token: number, text: string) => string {
  if (markers.size === 0) return (_t, text) => text;
  return (token, text) => markers.get(token) ?? text;
}
