/**
 * The routing policy: a declarative JSON document (see examples/policy.json), validated strictly
 * (unknown keys are errors, so a typo cannot silently disable a rule) into a `Policy` with every
 * default filled in. Errors are PolicyError naming the JSON path and what was expected.
 */
import { readFile } from "node:fs/promises";
import * as z from "zod";
import { PolicyError } from "./errors.js";
import { firstIssue, showValue } from "../json.js";
import type { PolicyVerifierSpec } from "../verify/spec.js";

export type Privacy = "local_only" | "cloud_ok";

/**
 * Default refusal pattern: the phrasings small on-device models are trained to use for questions
 * outside their skill (edgellm's default model: "I can't answer that locally ..."), in English and Chinese.
 */
export const DEFAULT_REFUSAL_PATTERN =
  "\\b(can't|cannot|can not|unable to) (answer|help with) (that|this)|我(不能|无法)(在本地)?回答";

export interface Price {
  /** USD per million prompt tokens. */
  inputPerMTok: number;
  /** USD per million generated tokens. */
  outputPerMTok: number;
}

export interface Policy {
  /** Default for requests that do not say; a request may only tighten it (cloud_ok -> local_only). */
  privacy: Privacy;
  local: {
    /** Context the local model can hold; default: the loaded model's context size. */
    contextTokens?: number;
    /** What the local model can do; requests needing more go to the cloud. */
    tools: boolean;
    images: boolean;
  };
  /** Local-first: answer locally, then escalate to the cloud when a check fails. */
  escalation: {
    /** Escalate when the mean log-probability of the answer's tokens is below this. */
    minMeanLogprob?: number;
    /** Self-consistency: draw `samples` answers at `temperature`; escalate when the majority share is below `threshold`. */
    agreement?: { samples: number; threshold: number; temperature: number };
    /** Escalate when any verifier rejects the answer. */
    verifiers: PolicyVerifierSpec[];
    /** Escalate when a scoring verifier's score (0..1) is below this. */
    minVerifierScore?: number;
  };
  budgets: {
    /** Largest estimated cloud cost per request in USD. */
    maxCostUsd?: number;
    /** Largest end-to-end latency per request in ms: no escalation that cannot finish in time. */
    maxLatencyMs?: number;
    /** Completion tokens assumed when a request sets no max_tokens (cost and latency estimates). */
    assumeOutputTokens: number;
  };
  /** Price table: cloud model name -> USD per million tokens. */
  prices: Record<string, Price>;
  cloud: {
    timeoutMs: number;
    streamIdleMs: number;
    maxRetries: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    breakerFailures: number;
    breakerCooldownMs: number;
    /** Latency model for the budget check: first token, then per generated token. */
    expectedFirstTokenMs: number;
    expectedPerTokenMs: number;
  };
  /** Local overloaded -> spill to the cloud when this many requests already wait locally. */
  spill: { maxWaiting?: number };
}

export const DEFAULT_POLICY: Policy = {
  privacy: "cloud_ok",
  local: { tools: false, images: false },
  escalation: { verifiers: [] },
  budgets: { assumeOutputTokens: 256 },
  prices: {},
  cloud: {
    timeoutMs: 30_000,
    streamIdleMs: 15_000,
    maxRetries: 2,
    backoffBaseMs: 200,
    backoffMaxMs: 5000,
    breakerFailures: 5,
    breakerCooldownMs: 30_000,
    expectedFirstTokenMs: 500,
    expectedPerTokenMs: 20,
  },
  spill: {},
};

// The file's shape. Every object is strict (an unknown key is an error naming it); absent objects
// parse as {} (prefault), so their defaults apply; the messages are what follows "policy: <path>: ".
const show = showValue;

/** A number in [lo, hi] (an integer when `int`). */
function num(lo: number, hi: number, int = false) {
  const error = (iss: { code: string; input?: unknown }) =>
    iss.code === "invalid_type"
      ? typeof iss.input === "number" && int
        ? `must be an integer, got ${iss.input}`
        : `must be a number, got ${show(iss.input)}`
      : `must be in [${lo}, ${hi}], got ${iss.input}`;
  return (int ? z.int({ error }) : z.number({ error })).min(lo, { error }).max(hi, { error });
}

const bool = () => z.boolean({ error: (iss) => `must be true or false, got ${show(iss.input)}` });
const obj = <S extends z.core.$ZodLooseShape>(shape: S, what = "an object") =>
  z.strictObject(shape, { error: (iss) => `must be ${what}, got ${show(iss.input)}` });

const PRIVACY = z.enum(["local_only", "cloud_ok"], {
  error: (iss) => `must be "local_only" or "cloud_ok", got ${show(iss.input)}`,
});

const VERIFIER_TYPES = ["arithmetic", "regex", "refusal", "nonempty"] as const;
const verifier = obj({
  type: z.enum(VERIFIER_TYPES, {
    error: (iss) => `must be "arithmetic", "regex", "refusal" or "nonempty", got ${show(iss.input)}`,
  }),
  pattern: z.string({ error: (iss) => `must be a string, got ${show(iss.input)}` }).optional(),
  flags: z.string({ error: (iss) => `must be a string, got ${show(iss.input)}` }).optional(),
})
  .superRefine((v, ctx) => {
    if ((v.type === "arithmetic" || v.type === "nonempty") && (v.pattern ?? v.flags) !== undefined)
      ctx.addIssue({ code: "custom", message: `'${v.type}' takes no pattern` });
    else if (v.type === "regex" && v.pattern === undefined)
      ctx.addIssue({ code: "custom", path: ["pattern"], message: "must be a string, got nothing" });
    else if (v.type === "refusal" && v.pattern === undefined && v.flags !== undefined)
      ctx.addIssue({ code: "custom", path: ["flags"], message: "needs a 'pattern'" });
    else if (v.pattern !== undefined)
      try {
        new RegExp(v.pattern, v.flags ?? "");
      } catch (e) {
        ctx.addIssue({
          code: "custom",
          path: ["pattern"],
          message: `invalid regular expression: ${(e as Error).message}`,
        });
      }
  })
  .transform((v): PolicyVerifierSpec => {
    if (v.type === "arithmetic" || v.type === "nonempty") return { type: v.type };
    if (v.pattern === undefined) return { type: "refusal", pattern: DEFAULT_REFUSAL_PATTERN, flags: "i" };
    return { type: v.type, pattern: v.pattern, flags: v.flags ?? "" };
  });

const price = obj({ inputPerMTok: num(0, 1e6).optional(), outputPerMTok: num(0, 1e6).optional() }).transform(
  (p, ctx) => {
    if (p.inputPerMTok !== undefined && p.outputPerMTok !== undefined)
      return { inputPerMTok: p.inputPerMTok, outputPerMTok: p.outputPerMTok };
    ctx.addIssue({
      code: "custom",
      message: "needs 'inputPerMTok' and 'outputPerMTok' (USD per million tokens)",
    });
    return z.NEVER;
  },
);

const D = DEFAULT_POLICY;
const cloudMs = (k: keyof Policy["cloud"]) => num(0, 1e8).default(D.cloud[k]);

const POLICY = obj({
  $comment: z.unknown().optional(),
  privacy: PRIVACY.default(D.privacy),
  local: obj({
    contextTokens: num(1, 1e8, true).optional(),
    tools: bool().default(D.local.tools),
    images: bool().default(D.local.images),
  }).prefault({}),
  escalation: obj({
    minMeanLogprob: num(-1e6, 0).optional(),
    agreement: obj({
      samples: num(2, 16, true).optional(),
      threshold: num(0, 1).optional(),
      temperature: num(0, 2).default(0.7),
    })
      .transform((a, ctx) => {
        if (a.samples !== undefined && a.threshold !== undefined)
          return { samples: a.samples, threshold: a.threshold, temperature: a.temperature };
        ctx.addIssue({ code: "custom", message: "needs 'samples' (2..16) and 'threshold' (0..1)" });
        return z.NEVER;
      })
      .optional(),
    verifiers: z.array(verifier, { error: (iss) => `must be an array, got ${show(iss.input)}` }).default([]),
    minVerifierScore: num(0, 1).optional(),
  }).prefault({}),
  budgets: obj({
    maxCostUsd: num(0, 1e6).optional(),
    maxLatencyMs: num(1, 1e8).optional(),
    assumeOutputTokens: num(1, 1e7, true).default(D.budgets.assumeOutputTokens),
  }).prefault({}),
  prices: z
    .record(z.string(), price, {
      error: (iss) => `must be an object of model -> price, got ${show(iss.input)}`,
    })
    .default({}),
  cloud: obj({
    timeoutMs: cloudMs("timeoutMs"),
    streamIdleMs: cloudMs("streamIdleMs"),
    maxRetries: num(0, 10, true).default(D.cloud.maxRetries),
    backoffBaseMs: cloudMs("backoffBaseMs"),
    backoffMaxMs: cloudMs("backoffMaxMs"),
    breakerFailures: num(1, 1e8, true).default(D.cloud.breakerFailures),
    breakerCooldownMs: cloudMs("breakerCooldownMs"),
    expectedFirstTokenMs: cloudMs("expectedFirstTokenMs"),
    expectedPerTokenMs: cloudMs("expectedPerTokenMs"),
  })
    .superRefine((c, ctx) => {
      if (c.backoffMaxMs < c.backoffBaseMs)
        ctx.addIssue({
          code: "custom",
          path: ["backoffMaxMs"],
          message: `must be >= backoffBaseMs (${c.backoffBaseMs})`,
        });
    })
    .prefault({}),
  spill: obj({ maxWaiting: num(0, 1e6, true).optional() }).prefault({}),
});

export function parsePrivacy(v: unknown, where: string, source = "request"): Privacy {
  const r = PRIVACY.safeParse(v);
  if (r.success) return r.data;
  throw new PolicyError(`${where} ${firstIssue(r.error).message}`, { file: source, field: where });
}

/** Validate a parsed JSON value into a Policy with defaults. `source` names it in errors. */
export function parsePolicy(json: unknown, source = "policy"): Policy {
  const r = POLICY.safeParse(json);
  if (!r.success) {
    const { path, message } = firstIssue(r.error);
    throw new PolicyError(path ? `policy: ${path}: ${message}` : `policy: ${message}`, {
      file: source,
      ...(path ? { field: path } : {}),
      hint: "see examples/policy.json",
    });
  }
  const { $comment: _, ...policy } = r.data;
  return policy;
}

/** Read and validate a policy file. */
export async function loadPolicy(file: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new PolicyError(`cannot read policy file: ${(e as Error).message}`, { file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PolicyError(`policy file is not valid JSON: ${(e as Error).message}`, { file });
  }
  return parsePolicy(json, file);
}

/** Whether any local-first check is configured. */
export function hasEscalation(p: Policy): boolean {
  const e = p.escalation;
  return (
    e.minMeanLogprob !== undefined ||
    e.agreement !== undefined ||
    e.verifiers.length > 0 ||
    e.minVerifierScore !== undefined
  );
}
