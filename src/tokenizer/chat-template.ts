/**
 * Chat templates: render `tokenizer.chat_template` (Jinja, via @huggingface/jinja) with the same
 * context Hugging Face's apply_chat_template gives it: messages, tools, add_generation_prompt,
 * the special-token strings (bos_token, eos_token, ...) and any extra kwargs such as
 * enable_thinking. GGUFs without a template fall back to a built-in one chosen from the vocabulary.
 */
import { Template } from "@huggingface/jinja";
import { InputError, TokenizerError } from "../errors.js";
import { BUILTIN_TEMPLATES, guessBuiltinTemplate } from "./builtin-templates.js";
import type { Tokenizer } from "./tokenizer.js";

export interface ChatMessage {
  role: string;
  content: string | unknown[];
  [key: string]: unknown;
}

export interface RenderOptions {
  tools?: unknown[];
  documents?: unknown[];
  addGenerationPrompt?: boolean;
  /** Extra template variables (e.g. enable_thinking: false). */
  kwargs?: Record<string, unknown>;
}

const compiled = new Map<string, Template>();

function compile(source: string): Template {
  let t = compiled.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new TokenizerError(`cannot parse chat template: ${(e as Error).message}`, {
        field: "tokenizer.chat_template",
      });
    }
    compiled.set(source, t);
  }
  return t;
}

function validateMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages)) throw new InputError("messages must be an array");
  messages.forEach((m, i) => {
    if (typeof m !== "object" || m === null || typeof (m as ChatMessage).role !== "string") {
      throw new InputError(`message ${i} must be an object with a string 'role'`);
    }
  });
}

/** Render a Jinja chat template source. */
export function renderTemplate(
  source: string,
  messages: ChatMessage[],
  specials: Record<string, string>,
  opts: RenderOptions = {},
): string {
  validateMessages(messages);
  const ctx: Record<string, unknown> = {
    ...specials,
    messages,
    add_generation_prompt: opts.addGenerationPrompt ?? false,
    ...(opts.tools !== undefined ? { tools: opts.tools } : {}),
    ...(opts.documents !== undefined ? { documents: opts.documents } : {}),
    ...opts.kwargs,
  };
  try {
    return compile(source).render(ctx);
  } catch (e) {
    throw new TokenizerError(`chat template failed: ${(e as Error).message}`, {
      field: "tokenizer.chat_template",
    });
  }
}

/** The template source a tokenizer uses: its own, else a built-in matched to its vocabulary. */
export function templateFor(tok: Tokenizer, name?: string): string {
  if (name !== undefined) {
    const b = BUILTIN_TEMPLATES[name];
    if (!b)
      throw new InputError(`unknown built-in chat template '${name}'`, {
        hint: `one of: ${Object.keys(BUILTIN_TEMPLATES).join(", ")}`,
      });
    return b;
  }
  if (tok.chatTemplate) return tok.chatTemplate;
  const guess = guessBuiltinTemplate((t) => tok.tokenId(t) !== undefined);
  if (!guess)
    throw new TokenizerError("GGUF has no chat template and no built-in one matches its vocabulary", {
      field: "tokenizer.chat_template",
    });
  return BUILTIN_TEMPLATES[guess];
}

/** Render a conversation for a tokenizer (its special-token strings become template variables). */
export function applyChatTemplate(
  tok: Tokenizer,
  messages: ChatMessage[],
  opts: RenderOptions & { template?: string } = {},
): string {
  const specials: Record<string, string> = {};
  const v = tok.vocab;
  if (v.bos >= 0) specials.bos_token = v.tokens[v.bos];
  if (v.eos >= 0) specials.eos_token = v.tokens[v.eos];
  if (v.unk >= 0) specials.unk_token = v.tokens[v.unk];
  if (v.pad >= 0) specials.pad_token = v.tokens[v.pad];
  return renderTemplate(templateFor(tok, opts.template), messages, specials, opts);
}
