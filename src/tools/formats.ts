/**
 * Tool-call formats, chosen from the chat template's *content* (the markers it renders), never
 * from a model's name:
 *  - hermes:   `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>` (Hermes 2 Pro, Qwen 2.5/3)
 *  - llama3:   `{"name": ..., "parameters": {...}}`, optionally after `<|python_tag|>` (Llama 3.1-3.3)
 *  - mistral:  `[TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]`, or the newer
 *              `[TOOL_CALLS]name[ARGS]{...}` form
 *  - deepseek: `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{...}\n```<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>`
 *              (V3/R1; V3.1's `<｜tool▁call▁begin｜>name<｜tool▁sep｜>{...}<｜tool▁call▁end｜>` also parses)
 * Templates with none of these markers get "hermes" as a prompted fallback (tools described in a
 * system message by buildToolPrompt).
 */
export type ToolFormatName = "hermes" | "llama3" | "mistral" | "deepseek";

export interface ToolFormat {
  name: ToolFormatName;
  /** Text that starts a tool-call section. */
  start: string;
  /** Text that ends one section (undefined: the section runs to the end of the output). */
  end?: string;
  /** Whether the template renders tool definitions itself (else we add a system message). */
  nativeTools: boolean;
}

export const FORMATS: Record<ToolFormatName, Omit<ToolFormat, "nativeTools">> = {
  hermes: { name: "hermes", start: "<tool_call>", end: "</tool_call>" },
  llama3: { name: "llama3", start: "<|python_tag|>" },
  mistral: { name: "mistral", start: "[TOOL_CALLS]" },
  deepseek: { name: "deepseek", start: "<｜tool▁calls▁begin｜>", end: "<｜tool▁calls▁end｜>" },
};

/** Pick the tool-call format from a Jinja chat-template source. */
export function detectToolFormat(template: string | undefined): ToolFormat {
  const t = template ?? "";
  const uses = (s: string) => t.includes(s);
  const rendersTools = /\btools\b/.test(t);
  if (uses("<｜tool▁calls▁begin｜>") || uses("<｜tool▁call▁begin｜>"))
    return { ...FORMATS.deepseek, nativeTools: rendersTools };
  if (uses("[TOOL_CALLS]")) return { ...FORMATS.mistral, nativeTools: rendersTools };
  if (uses("<tool_call>")) return { ...FORMATS.hermes, nativeTools: rendersTools };
  if (uses("<|python_tag|>") || (uses("<|start_header_id|>") && uses('"parameters"') && rendersTools))
    return { ...FORMATS.llama3, nativeTools: rendersTools };
  return { ...FORMATS.hermes, nativeTools: false };
}
