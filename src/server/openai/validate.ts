/**
 * Validation at the edge: an untrusted JSON body -> a typed request, or a 400 ApiError naming the
 * offending parameter (the way OpenAI reports `param`). Nothing past this point re-checks types.
 *
 * The shapes are zod schemas; the first issue becomes the 400: `param` is the issue's path
 * ("messages[0].role"), the message names it ("'temperature' must be a number, got \"hot\""), and
 * `code` is invalid_type (wrong shape) or invalid_value (right shape, out of range). Rules between
 * fields (stream_options needs stream, top_logprobs needs logprobs, the model list) follow the
 * parse. The body's nesting is bounded before this runs (depth.ts), so messages may quote values.
 */
import * as z from "zod";
import type { ChatMessage } from "../../tokenizer/chat-template.js";
import { badRequest } from "./errors.js";
import { firstIssue, showValue as show } from "../../json.js";
import type { ReasoningFields } from "../../reasoning/server-chat.js";
import { parseStrategy, type StrategyName } from "../../reasoning/strategy.js";
import { userRegexProblem } from "../../verify/user-regex.js";
import type { JSONSchema } from "../../verify/json-schema.js";
import type { RequestVerifierSpec } from "../../verify/spec.js";
import type { ChatRequest, CompletionRequest, SamplingFields } from "./types.js";
import { parseImagePart, type ImageInput } from "./image-parts.js";
import { MEDIA_MARKER } from "../../engine/llm.js";
import { EVICTION_POLICIES, evictionPolicy } from "../../kv/eviction.js";

const ROLES = ["system", "developer", "user", "assistant", "tool"] as const;

/** An optional number in [lo, hi] (null = absent). */
function num(lo: number, hi: number, int = false) {
  const error = (iss: { code: string; input?: unknown }) =>
    iss.code === "invalid_type"
      ? `must be ${int ? "an integer" : "a number"}, got ${show(iss.input)}`
      : `must be between ${lo} and ${hi}, got ${iss.input}`;
  return (int ? z.int({ error }) : z.number({ error })).min(lo, { error }).max(hi, { error });
}

const bool = () => z.boolean({ error: (iss) => `must be a boolean, got ${show(iss.input)}` }).nullish();

const LORA = 'must be an array of up to 16 {"id": name or index, "scale": number in [-100, 100]}';
const ADAPTER = "must be an adapter name (1 to 128 characters) or index (an integer >= 0)";
const loraEntry = z.object({
  id: z.union([z.string().min(1, ADAPTER).max(128, ADAPTER), z.int().min(0, ADAPTER)], ADAPTER),
  scale: num(-100, 100).nullish(),
});

const EVICTION = `must be an object {"policy": ${EVICTION_POLICIES.join(" | ")}, "budget": integer >= 8}`;

const NONEMPTY = "must be a non-empty string";
const STOP = "must be a non-empty string or an array of up to 4 non-empty strings";
const sampling = z.looseObject(
  {
    model: z.string({ error: "is required and must be a string" }),
    stream: bool(),
    stream_options: z.looseObject({ include_usage: bool() }, { error: "must be an object" }).nullish(),
    max_tokens: num(1, 1e9, true).nullish(),
    max_completion_tokens: num(1, 1e9, true).nullish(),
    logit_bias: z
      .union([z.record(z.string(), num(-100, 100)), z.null()], {
        error: "must map token ids to numbers in [-100, 100]",
      })
      .optional(),
    n: num(1, 16, true).nullish(),
    stop: z
      .union(
        [
          z.string(STOP).min(1, STOP),
          z.array(z.string(NONEMPTY).min(1, NONEMPTY), STOP).max(4, STOP),
          z.null(),
        ],
        STOP,
      )
      .optional(),
    temperature: num(0, 2).nullish(),
    top_p: num(0, 1).nullish(),
    top_k: num(0, 1e6, true).nullish(),
    min_p: num(0, 1).nullish(),
    repetition_penalty: num(0.01, 10).nullish(),
    frequency_penalty: num(-2, 2).nullish(),
    presence_penalty: num(-2, 2).nullish(),
    seed: num(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true).nullish(),
    ignore_eos: bool(),
    lora: z.union([z.array(loraEntry).max(16), z.null()], { error: LORA }).optional(),
    kv_eviction: z
      .strictObject(
        {
          policy: z.enum(EVICTION_POLICIES, {
            error: (iss) => `must be ${EVICTION_POLICIES.join(", ")}, got ${show(iss.input)}`,
          }),
          budget: num(8, 1e9, true),
        },
        { error: EVICTION },
      )
      .nullish(),
  },
  { error: "the request body must be a JSON object" },
);

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const message = z.looseObject(
  {
    role: z.enum(ROLES, { error: (iss) => `must be one of ${ROLES.join(", ")}, got ${show(iss.input)}` }),
    content: z
      .union([z.string(), z.array(z.unknown()), z.null()], {
        error: "must be a string or an array of text parts",
      })
      .optional()
      .superRefine((c, ctx) => {
        if (Array.isArray(c))
          c.forEach((p, j) => {
            // image parts are decoded after the parse (image-parts.ts: a 400 names the part)
            if ((p as { type?: unknown } | null)?.type === "image_url") return;
            if (!textPart.safeParse(p).success)
              ctx.addIssue({
                code: "custom",
                path: [j],
                input: p,
                message: 'must be a text part ({type: "text", text})',
              });
          });
      }),
  },
  { error: "must be an object with a string 'role'" },
);

// Reasoning extension fields of a chat request:
//   "enable_thinking": bool        passed to the chat template (also chat_template_kwargs.enable_thinking, as vLLM)
//   "thinking_budget": 0..1e6      most tokens inside <think>; enforced in decoding
//   "reasoning_format": "auto" | "deepseek" | "none"   (llama-server) or "separate_reasoning": bool (vLLM/SGLang)
//   "reasoning": { strategy: greedy | self_consistency | best_of_n | mcts (aliases: reasoning/strategy.ts),
//     samples 1..16, early_stop, agreement (0, 1], extractor auto|final|boxed|number or answer_regex,
//     verifier "arithmetic" | "model_judge" | {type: regex, pattern} | {type: json_schema, schema}
//     | {type: js_tests, tests: 1..64 strings}, selection best | weighted,
//     budget 16..1e6 (mcts: most tokens decoded; samples = lines sampled per expansion) }
// A caller's patterns must compile on RE2 (verify/user-regex.ts). Any of these fields except
// reasoning_format turns on the reasoning split (reasoning_content).
const VALUE = { kind: "invalid_value" };

/** A caller's regular expression: a string RE2 can run. */
const userRegex = (what: string) =>
  z.string(what).superRefine((p, ctx) => {
    const why = userRegexProblem(p);
    if (why) ctx.addIssue({ code: "custom", message: why, params: VALUE });
  });

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

const VERIFIERS = "arithmetic, model_judge, regex, json_schema, js_tests";
const TESTS = "must be an array of 1..64 strings";
const verifier = z.preprocess(
  (v) => (typeof v === "string" ? { type: v } : v),
  z
    .discriminatedUnion(
      "type",
      [
        z.looseObject({ type: z.enum(["arithmetic", "model_judge"]) }),
        z.looseObject({
          type: z.literal("regex"),
          pattern: userRegex("must be a non-empty string").min(1, "must be a non-empty string"),
        }),
        z.looseObject({
          type: z.literal("json_schema"),
          schema: z
            .union([z.record(z.string(), z.unknown()), z.boolean()], "must be a JSON schema object")
            .superRefine((sc, ctx) => {
              for (const p of schemaPatterns(sc)) {
                const why = userRegexProblem(p);
                if (why) return ctx.addIssue({ code: "custom", message: why, params: VALUE });
              }
            }),
        }),
        z.looseObject({
          type: z.literal("js_tests"),
          tests: z.array(z.string(TESTS), TESTS).min(1, TESTS).max(64, TESTS),
        }),
      ],
      {
        error: (iss) =>
          iss.code === "invalid_union"
            ? `must be one of ${VERIFIERS}, got ${show((iss.input as { type?: unknown }).type)}`
            : `must be "arithmetic", "model_judge" or an object with a 'type'`,
      },
    )
    .transform((v): RequestVerifierSpec => {
      switch (v.type) {
        case "regex":
          return { type: v.type, pattern: v.pattern };
        case "json_schema":
          return { type: v.type, schema: v.schema as JSONSchema };
        case "js_tests":
          return { type: v.type, tests: v.tests };
        default:
          return { type: v.type };
      }
    }),
);

const reasoning = z.strictObject(
  {
    strategy: z
      .unknown()
      .transform((s, ctx): StrategyName => {
        try {
          return parseStrategy(s);
        } catch {
          ctx.addIssue({
            code: "custom",
            message: `must be greedy, self_consistency, best_of_n or mcts, got ${show(s)}`,
            params: VALUE,
          });
          return z.NEVER;
        }
      })
      .optional(),
    samples: num(1, 16, true).optional(),
    early_stop: bool(),
    agreement: z
      .number("must be a number in (0, 1]")
      .gt(0, "must be a number in (0, 1]")
      .max(1, "must be a number in (0, 1]")
      .optional(),
    extractor: z
      .enum(["auto", "final", "boxed", "number"], { error: "must be auto, final, boxed or number" })
      .optional(),
    answer_regex: userRegex("must be a string").optional(),
    verifier: verifier.optional(),
    selection: z.enum(["best", "weighted"], { error: "must be best or weighted" }).optional(),
    budget: num(16, 1e6, true).optional(),
  },
  { error: "must be an object" },
);

const chat = sampling.extend({
  messages: z.array(message, "must be a non-empty array").min(1, "must be a non-empty array"),
  logprobs: bool(),
  top_logprobs: num(0, 20, true).nullish(),
  truncate: z.enum(["none", "oldest_turns"], { error: 'must be "none" or "oldest_turns"' }).optional(),
  enable_thinking: bool(),
  chat_template_kwargs: z.looseObject({ enable_thinking: bool() }, { error: "must be an object" }).nullish(),
  thinking_budget: num(0, 1e6, true).nullish(),
  reasoning: reasoning.nullish(),
  reasoning_format: z
    .enum(["auto", "deepseek", "none"], {
      error: (iss) => `must be "auto", "deepseek" or "none", got ${show(iss.input)}`,
    })
    .nullish(),
  separate_reasoning: bool(),
});

const TOKEN_ID = "must be a token id (an integer >= 0)";
const completion = sampling.extend({
  prompt: z.union([z.string(), z.tuple([z.string()]), z.array(z.int(TOKEN_ID).min(0, TOKEN_ID)).min(1)], {
    error: "must be a string, a one-string array, or an array of token ids",
  }),
  logprobs: num(0, 5, true).nullish(),
  echo: bool(),
});

/** The first issue as an OpenAI-style 400 naming the parameter. */
function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const iss = firstIssue(r.error);
  const param = iss.path || null;
  if (iss.unknownKey) throw badRequest(`unknown field '${param}'`, param, "invalid_value");
  throw badRequest(param ? `'${param}' ${iss.message}` : iss.message, param, iss.kind);
}

type Sampling = z.output<typeof sampling>;

function fields(b: Sampling, models: readonly string[]): SamplingFields {
  if (!models.includes(b.model))
    throw badRequest(
      `the model '${b.model}' does not exist; available: ${models.join(", ")}`,
      "model",
      "model_not_found",
    );
  const stream = b.stream ?? false;
  if (b.stream_options && !stream)
    throw badRequest("'stream_options' is only allowed when 'stream' is true", "stream_options");
  return {
    model: b.model,
    stream,
    includeUsage: b.stream_options?.include_usage ?? false,
    n: b.n ?? 1,
    stop: typeof b.stop === "string" ? [b.stop] : (b.stop ?? []),
    maxTokens: b.max_completion_tokens ?? b.max_tokens ?? undefined,
    temperature: b.temperature ?? undefined,
    topP: b.top_p ?? undefined,
    topK: b.top_k ?? undefined,
    minP: b.min_p ?? undefined,
    repetitionPenalty: b.repetition_penalty ?? undefined,
    frequencyPenalty: b.frequency_penalty ?? undefined,
    presencePenalty: b.presence_penalty ?? undefined,
    seed: b.seed ?? undefined,
    logitBias: b.logit_bias ?? undefined,
    ignoreEos: b.ignore_eos ?? false,
    lora: b.lora?.map((e) => (e.scale == null ? { id: e.id } : { id: e.id, scale: e.scale })) ?? undefined,
    ...(b.kv_eviction ? { eviction: evictionPolicy(b.kv_eviction.policy, b.kv_eviction.budget) } : {}),
  };
}

/** The reasoning options (undefined when the request has none); the rules between fields. */
function reasoningFields(b: z.output<typeof chat>, stream: boolean): ReasoningFields | undefined {
  const enableThinking = b.enable_thinking ?? b.chat_template_kwargs?.enable_thinking ?? undefined;
  const thinkingBudget = b.thinking_budget ?? undefined;
  if (thinkingBudget !== undefined && enableThinking === false)
    throw badRequest("'thinking_budget' needs thinking; 'enable_thinking' is false", "thinking_budget");
  const r = b.reasoning;
  if (!r) {
    if (enableThinking === undefined && thinkingBudget === undefined) return undefined;
    return { enableThinking, thinkingBudget, strategy: undefined };
  }
  const name = r.strategy ?? "greedy";
  const verifier = r.verifier;
  if (name === "best_of_n" && !verifier)
    throw badRequest("'reasoning.verifier' is required by best_of_n", "reasoning.verifier");
  if (name !== "greedy" && stream)
    throw badRequest(
      `'stream' must be false with 'reasoning.strategy' ${name} (it returns one chosen answer)`,
      "stream",
      "unsupported",
    );
  if (r.budget !== undefined && name !== "mcts")
    throw badRequest("'reasoning.budget' applies to the mcts strategy only", "reasoning.budget");
  if (name !== "greedy" && b.n != null && b.n !== 1)
    throw badRequest("'n' must be 1 with a reasoning strategy (use reasoning.samples)", "n");
  return {
    enableThinking,
    thinkingBudget,
    strategy: {
      name,
      samples: r.samples ?? (name === "greedy" ? 1 : 8),
      earlyStop: r.early_stop ?? true,
      agreement: r.agreement,
      extractor: r.answer_regex !== undefined ? { regex: r.answer_regex } : (r.extractor ?? "auto"),
      verifier,
      selection: r.selection ?? "best",
      ...(r.budget === undefined ? {} : { budget: r.budget }),
    },
  };
}

/**
 * A message's text; its image parts are decoded into `images` (request order) and leave
 * MEDIA_MARKER where they were (the embeddings go there: LLM.encodeChatMedia).
 */
function text(c: string | unknown[] | null | undefined, i: number, images: ImageInput[]): string {
  if (Array.isArray(c))
    return c
      .map((p, j) => {
        if ((p as { type?: unknown }).type === "image_url") {
          images.push(parseImagePart(p, i, j));
          return MEDIA_MARKER;
        }
        return (p as { text: string }).text;
      })
      .join("");
  return c ?? "";
}

export function validateChat(body: unknown, models: readonly string[]): ChatRequest {
  const b = parse(chat, body);
  const f = fields(b, models);
  const images: ImageInput[] = [];
  const messages: ChatMessage[] = b.messages.map((m, i) => ({
    role: m.role === "developer" ? "system" : m.role,
    content: text(m.content, i, images),
  }));
  const lp = b.logprobs ?? false;
  const top = b.top_logprobs ?? undefined;
  if (top !== undefined && !lp) throw badRequest("'top_logprobs' requires 'logprobs': true", "top_logprobs");
  return {
    ...f,
    messages,
    topLogprobs: lp ? (top ?? 0) : undefined,
    thinking: reasoningFields(b, f.stream),
    reasoningFormat:
      b.reasoning_format ??
      (b.separate_reasoning == null ? "auto" : b.separate_reasoning ? "deepseek" : "none"),
    ...(b.truncate === "oldest_turns" ? { truncate: b.truncate } : {}),
    ...(images.length > 0 ? { images } : {}),
  };
}

export function validateCompletion(body: unknown, models: readonly string[]): CompletionRequest {
  const b = parse(completion, body);
  const f = fields(b, models);
  const prompt = Array.isArray(b.prompt) && typeof b.prompt[0] === "string" ? b.prompt[0] : b.prompt;
  if (prompt === "") throw badRequest("'prompt' is empty", "prompt");
  const echo = b.echo ?? false;
  if (echo) throw badRequest("'echo' is not supported", "echo", "unsupported");
  return {
    ...f,
    prompt: prompt as string | number[],
    logprobs: b.logprobs ?? undefined,
    echo,
    maxTokens: f.maxTokens ?? 16,
  };
}
