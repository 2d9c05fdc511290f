/**
 * Validation at the edge: an untrusted JSON body -> a typed request, or a 400 ApiError naming the
 * offending parameter (the way OpenAI reports `param`). Nothing past this point re-checks types.
 */
import type { ChatMessage } from "../../tokenizer/chat-template.js";
import { badRequest } from "./errors.js";
import { parseReasoningFields } from "../../reasoning/server-fields.js";
import type { ChatRequest, CompletionRequest, SamplingFields } from "./types.js";
import { parseImagePart, type ImageInput } from "./image-parts.js";

type Obj = Record<string, unknown>;
const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function optNum(b: Obj, k: string, lo: number, hi: number, int = false): number | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || (int && !Number.isInteger(v))) {
    throw badRequest(
      `'${k}' must be ${int ? "an integer" : "a number"}, got ${JSON.stringify(v)}`,
      k,
      "invalid_type",
    );
  }
  if (v < lo || v > hi)
    throw badRequest(`'${k}' must be between ${lo} and ${hi}, got ${v}`, k, "invalid_value");
  return v;
}

function optBool(b: Obj, k: string): boolean | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean")
    throw badRequest(`'${k}' must be a boolean, got ${JSON.stringify(v)}`, k, "invalid_type");
  return v;
}

function stopList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string" || s.length === 0) || list.length > 4) {
    throw badRequest(
      "'stop' must be a non-empty string or an array of up to 4 non-empty strings",
      "stop",
      "invalid_type",
    );
  }
  return list as string[];
}

/** `lora: [{id, scale}]` (llama-server's shape; ids also as our string names). */
function loraList(v: unknown): SamplingFields["lora"] {
  if (v === undefined || v === null) return undefined;
  const bad = () =>
    badRequest(
      '\'lora\' must be an array of up to 16 {"id": name or index, "scale": number}',
      "lora",
      "invalid_type",
    );
  if (!Array.isArray(v) || v.length > 16) throw bad();
  return v.map((e) => {
    if (!isObj(e)) throw bad();
    const id = e.id;
    if (!(
      (typeof id === "string" && id.length > 0 && id.length <= 128) ||
      (typeof id === "number" && Number.isInteger(id) && id >= 0)
    ))
      throw bad();
    const scale = optNum(e, "scale", -100, 100);
    return scale === undefined ? { id } : { id, scale };
  });
}

function common(b: unknown, models: readonly string[]): { b: Obj; f: SamplingFields } {
  if (!isObj(b)) throw badRequest("the request body must be a JSON object", null, "invalid_type");
  if (typeof b.model !== "string")
    throw badRequest("'model' is required and must be a string", "model", "invalid_type");
  if (!models.includes(b.model))
    throw badRequest(
      `the model '${b.model}' does not exist; available: ${models.join(", ")}`,
      "model",
      "model_not_found",
    );
  const so = b.stream_options;
  if (so !== undefined && so !== null && !isObj(so))
    throw badRequest("'stream_options' must be an object", "stream_options", "invalid_type");
  const stream = optBool(b, "stream") ?? false;
  const includeUsage = so ? (optBool(so, "include_usage") ?? false) : false;
  if (so && !stream)
    throw badRequest("'stream_options' is only allowed when 'stream' is true", "stream_options");
  const mt = optNum(b, "max_tokens", 1, 1e9, true);
  const mct = optNum(b, "max_completion_tokens", 1, 1e9, true);
  const lb = b.logit_bias;
  if (
    lb !== undefined &&
    lb !== null &&
    (!isObj(lb) || Object.values(lb).some((x) => typeof x !== "number" || x < -100 || x > 100))
  ) {
    throw badRequest(
      "'logit_bias' must map token ids to numbers in [-100, 100]",
      "logit_bias",
      "invalid_type",
    );
  }
  return {
    b,
    f: {
      model: b.model,
      stream,
      includeUsage,
      n: optNum(b, "n", 1, 16, true) ?? 1,
      stop: stopList(b.stop),
      maxTokens: mct ?? mt,
      temperature: optNum(b, "temperature", 0, 2),
      topP: optNum(b, "top_p", 0, 1),
      topK: optNum(b, "top_k", 0, 1e6, true),
      minP: optNum(b, "min_p", 0, 1),
      repetitionPenalty: optNum(b, "repetition_penalty", 0.01, 10),
      frequencyPenalty: optNum(b, "frequency_penalty", -2, 2),
      presencePenalty: optNum(b, "presence_penalty", -2, 2),
      seed: optNum(b, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true),
      logitBias: (lb ?? undefined) as Record<string, number> | undefined,
      ignoreEos: optBool(b, "ignore_eos") ?? false,
      lora: loraList(b.lora),
    },
  };
}

function messageText(m: Obj, i: number, images: ImageInput[]): string {
  const c = m.content;
  if (typeof c === "string") return c;
  if (c === null || c === undefined) return "";
  if (Array.isArray(c)) {
    return c
      .map((p, j) => {
        // Image parts are decoded here (400 for a bad image) and kept beside the text.
        if (isObj(p) && p.type === "image_url") {
          images.push(parseImagePart(p, i, j));
          return "";
        }
        if (!isObj(p) || p.type !== "text" || typeof p.text !== "string") {
          throw badRequest(
            `messages[${i}].content[${j}] must be a text part ({type: "text", text})`,
            `messages[${i}].content`,
            "invalid_type",
          );
        }
        return p.text;
      })
      .join("");
  }
  throw badRequest(
    `messages[${i}].content must be a string or an array of text parts`,
    `messages[${i}].content`,
    "invalid_type",
  );
}

export function validateChat(body: unknown, models: readonly string[]): ChatRequest {
  const { b, f } = common(body, models);
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    throw badRequest("'messages' must be a non-empty array", "messages", "invalid_type");
  const images: ImageInput[] = [];
  const messages: ChatMessage[] = b.messages.map((m, i) => {
    if (!isObj(m) || typeof m.role !== "string")
      throw badRequest(
        `messages[${i}] must be an object with a string 'role'`,
        `messages[${i}]`,
        "invalid_type",
      );
    if (!ROLES.has(m.role))
      throw badRequest(
        `messages[${i}].role '${m.role}' is not one of ${[...ROLES].join(", ")}`,
        `messages[${i}].role`,
        "invalid_value",
      );
    return { role: m.role === "developer" ? "system" : m.role, content: messageText(m, i, images) };
  });
  const lp = optBool(b, "logprobs") ?? false;
  const top = optNum(b, "top_logprobs", 0, 20, true);
  if (top !== undefined && !lp) throw badRequest("'top_logprobs' requires 'logprobs': true", "top_logprobs");
  const truncate = b.truncate ?? "none";
  if (truncate !== "none" && truncate !== "oldest_turns")
    throw badRequest('\'truncate\' must be "none" or "oldest_turns"', "truncate", "invalid_value");
  return {
    ...f,
    messages,
    topLogprobs: lp ? (top ?? 0) : undefined,
    thinking: parseReasoningFields(b, f.stream),
    ...(truncate === "oldest_turns" ? { truncate } : {}),
    ...(images.length > 0 ? { images } : {}),
  };
}

export function validateCompletion(body: unknown, models: readonly string[]): CompletionRequest {
  const { b, f } = common(body, models);
  let prompt: string | number[];
  const p = b.prompt;
  if (typeof p === "string") prompt = p;
  else if (Array.isArray(p) && p.length === 1 && typeof p[0] === "string") prompt = p[0];
  else if (Array.isArray(p) && p.length > 0 && p.every((x) => Number.isInteger(x) && (x as number) >= 0))
    prompt = p as number[];
  else
    throw badRequest(
      "'prompt' must be a string, a one-string array, or an array of token ids",
      "prompt",
      "invalid_type",
    );
  if (typeof prompt === "string" && prompt.length === 0) throw badRequest("'prompt' is empty", "prompt");
  const echo = optBool(b, "echo") ?? false;
  if (echo) throw badRequest("'echo' is not supported", "echo", "unsupported");
  return { ...f, prompt, logprobs: optNum(b, "logprobs", 0, 5, true), echo, maxTokens: f.maxTokens ?? 16 };
}
