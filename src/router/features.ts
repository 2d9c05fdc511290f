/**
 * What the policy needs to know about a chat request, read from the raw (unvalidated) OpenAI
 * body before the local server's validation, because requests the local model cannot serve
 * (tools, image parts) must still be routable. Tolerant: a malformed body yields features that
 * route it locally, where the server's validation answers 400.
 */
import type { ChatMessage } from "../tokenizer/chat-template.js";
import { parsePrivacy, type Privacy } from "./policy.js";
import { isObj, type Obj } from "../json.js";

export interface RequestFeatures {
  /** Messages reduced to their text (image parts dropped): what the local tokenizer counts. */
  messages: ChatMessage[];
  /** The last user message's text (what verifiers check the answer against). */
  question: string;
  /** Prompt tokens per the local tokenizer (an estimate for the cloud's tokenizer). */
  promptTokens: number;
  /** Requested max_completion_tokens / max_tokens, if any. */
  maxTokens: number | undefined;
  n: number;
  stream: boolean;
  /** Function tools or tool_choice present. */
  tools: boolean;
  /** image_url / input_image parts present. */
  images: boolean;
  /** The request's own privacy setting (header x-edgellm-privacy or body field "privacy"). */
  privacy: Privacy | undefined;
}

export const PRIVACY_HEADER = "x-edgellm-privacy";

/**
 * @param countTokens prompt tokens of text-only messages (the local chat template + tokenizer).
 * Throws PolicyError (an InputError: HTTP 400) for an invalid privacy value.
 */
export function extractFeatures(
  body: unknown,
  headers: Record<string, string | string[] | undefined>,
  countTokens: (m: ChatMessage[]) => number,
): RequestFeatures {
  const b: Obj = isObj(body) ? body : {};
  const messages: ChatMessage[] = [];
  let images = false;
  let question = "";
  if (Array.isArray(b.messages)) {
    for (const m of b.messages) {
      if (!isObj(m) || typeof m.role !== "string") continue;
      let text = "";
      if (typeof m.content === "string") text = m.content;
      else if (Array.isArray(m.content)) {
        for (const p of m.content) {
          if (!isObj(p)) continue;
          if (p.type === "text" && typeof p.text === "string") text += p.text;
          else if (p.type === "image_url" || p.type === "input_image" || p.type === "image") images = true;
        }
      }
      messages.push({ role: m.role === "developer" ? "system" : m.role, content: text });
      if (m.role === "user") question = text;
    }
  }
  const tools =
    (Array.isArray(b.tools) && b.tools.length > 0) ||
    (b.tool_choice !== undefined && b.tool_choice !== "none") ||
    Array.isArray(b.functions);
  const mt = b.max_completion_tokens ?? b.max_tokens;
  const h = headers[PRIVACY_HEADER];
  const hv = Array.isArray(h) ? h[0] : h;
  let privacy: Privacy | undefined;
  if (hv !== undefined) privacy = parsePrivacy(hv, `header ${PRIVACY_HEADER}`);
  if (b.privacy !== undefined) {
    const bp = parsePrivacy(b.privacy, "'privacy'");
    privacy = privacy === "local_only" || bp === "local_only" ? "local_only" : bp;
  }
  let promptTokens = 0;
  try {
    promptTokens = messages.length > 0 ? countTokens(messages) : 0;
  } catch {
    promptTokens = 0; // the template rejected the messages; the server's validation will say why
  }
  return {
    messages,
    question,
    promptTokens,
    maxTokens: typeof mt === "number" && Number.isInteger(mt) && mt > 0 ? mt : undefined,
    n: typeof b.n === "number" && Number.isInteger(b.n) && b.n > 0 ? b.n : 1,
    stream: b.stream === true,
    tools,
    images,
    privacy,
  };
}

/** The body sent to the cloud: our extension fields removed (the model is set by the client). */
export function cloudBody(body: unknown): Record<string, unknown> {
  const { privacy: _p, ...rest } = isObj(body) ? body : {};
  return rest;
}
