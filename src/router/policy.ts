/**
 * The routing policy: a declarative JSON document (see examples/policy.json), validated strictly
 * (unknown keys are errors, so a typo cannot silently disable a rule) into a `Policy` with every
 * default filled in. Errors are PolicyError naming the JSON path and what was expected.
 */
import { readFile } from "node:fs/promises";
import { PolicyError } from "./errors.js";
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

type Obj = Record<string, unknown>;

class Reader {
  constructor(readonly source: string) {}

  err(path: string, msg: string): PolicyError {
    return new PolicyError(`policy: ${path}: ${msg}`, {
      file: this.source,
      field: path,
      hint: "see examples/policy.json",
    });
  }

  obj(v: unknown, path: string, keys: readonly string[]): Obj {
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw this.err(path, `must be an object, got ${kind(v)}`);
    for (const k of Object.keys(v))
      if (!keys.includes(k))
        throw this.err(path ? `${path}.${k}` : k, `unknown key; known: ${keys.join(", ")}`);
    return v as Obj;
  }

  num(o: Obj, k: string, path: string, lo: number, hi: number, int = false): number | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    const p = path ? `${path}.${k}` : k;
    if (typeof v !== "number" || !Number.isFinite(v)) throw this.err(p, `must be a number, got ${kind(v)}`);
    if (int && !Number.isInteger(v)) throw this.err(p, `must be an integer, got ${v}`);
    if (v < lo || v > hi) throw this.err(p, `must be in [${lo}, ${hi}], got ${v}`);
    return v;
  }

  bool(o: Obj, k: string, path: string): boolean | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") throw this.err(`${path}.${k}`, `must be true or false, got ${kind(v)}`);
    return v;
  }
}

function kind(v: unknown): string {
  return v === null
    ? "null"
    : Array.isArray(v)
      ? "an array"
      : typeof v === "string"
        ? `"${v.slice(0, 40)}"`
        : typeof v;
}

export function parsePrivacy(v: unknown, where: string, source = "request"): Privacy {
  if (v === "local_only" || v === "cloud_ok") return v;
  throw new PolicyError(`${where} must be "local_only" or "cloud_ok", got ${kind(v)}`, {
    file: source,
    field: where,
  });
}

/** Validate a parsed JSON value into a Policy with defaults. `source` names it in errors. */
export function parsePolicy(json: unknown, source = "policy"): Policy {
  const r = new Reader(source);
  const D = DEFAULT_POLICY;
  const top = r.obj(json, "", [
    "privacy",
    "local",
    "escalation",
    "budgets",
    "prices",
    "cloud",
    "spill",
    "$comment",
  ]);

  const privacy = top.privacy === undefined ? D.privacy : parsePrivacy(top.privacy, "privacy", source);

  const lo = r.obj(top.local ?? {}, "local", ["contextTokens", "tools", "images"]);
  const local = {
    contextTokens: r.num(lo, "contextTokens", "local", 1, 1e8, true),
    tools: r.bool(lo, "tools", "local") ?? D.local.tools,
    images: r.bool(lo, "images", "local") ?? D.local.images,
  };

  const es = r.obj(top.escalation ?? {}, "escalation", [
    "minMeanLogprob",
    "agreement",
    "verifiers",
    "minVerifierScore",
  ]);
  let agreement: Policy["escalation"]["agreement"];
  if (es.agreement !== undefined) {
    const a = r.obj(es.agreement, "escalation.agreement", ["samples", "threshold", "temperature"]);
    const samples = r.num(a, "samples", "escalation.agreement", 2, 16, true);
    const threshold = r.num(a, "threshold", "escalation.agreement", 0, 1);
    if (samples === undefined || threshold === undefined)
      throw r.err("escalation.agreement", "needs 'samples' (2..16) and 'threshold' (0..1)");
    agreement = {
      samples,
      threshold,
      temperature: r.num(a, "temperature", "escalation.agreement", 0, 2) ?? 0.7,
    };
  }
  if (es.verifiers !== undefined && !Array.isArray(es.verifiers))
    throw r.err("escalation.verifiers", `must be an array, got ${kind(es.verifiers)}`);
  const verifiers = ((es.verifiers as unknown[] | undefined) ?? []).map((v, i): PolicyVerifierSpec => {
    const p = `escalation.verifiers[${i}]`;
    const o = r.obj(v, p, ["type", "pattern", "flags"]);
    if (o.type === "arithmetic" || o.type === "nonempty") {
      if (o.pattern !== undefined || o.flags !== undefined) throw r.err(p, `'${o.type}' takes no pattern`);
      return { type: o.type };
    }
    if (o.type === "regex" || (o.type === "refusal" && o.pattern !== undefined)) {
      if (typeof o.pattern !== "string")
        throw r.err(`${p}.pattern`, `must be a string, got ${kind(o.pattern)}`);
      const flags = o.flags === undefined ? "" : o.flags;
      if (typeof flags !== "string") throw r.err(`${p}.flags`, `must be a string, got ${kind(flags)}`);
      try {
        new RegExp(o.pattern, flags);
      } catch (e) {
        throw r.err(`${p}.pattern`, `invalid regular expression: ${(e as Error).message}`);
      }
      return { type: o.type, pattern: o.pattern, flags };
    }
    if (o.type === "refusal") {
      if (o.flags !== undefined) throw r.err(`${p}.flags`, "needs a 'pattern'");
      return { type: "refusal", pattern: DEFAULT_REFUSAL_PATTERN, flags: "i" };
    }
    throw r.err(`${p}.type`, `must be "arithmetic", "regex", "refusal" or "nonempty", got ${kind(o.type)}`);
  });
  const escalation = {
    minMeanLogprob: r.num(es, "minMeanLogprob", "escalation", -1e6, 0),
    agreement,
    verifiers,
    minVerifierScore: r.num(es, "minVerifierScore", "escalation", 0, 1),
  };

  const bu = r.obj(top.budgets ?? {}, "budgets", ["maxCostUsd", "maxLatencyMs", "assumeOutputTokens"]);
  const budgets = {
    maxCostUsd: r.num(bu, "maxCostUsd", "budgets", 0, 1e6),
    maxLatencyMs: r.num(bu, "maxLatencyMs", "budgets", 1, 1e8),
    assumeOutputTokens:
      r.num(bu, "assumeOutputTokens", "budgets", 1, 1e7, true) ?? D.budgets.assumeOutputTokens,
  };

  const pr = top.prices ?? {};
  if (typeof pr !== "object" || pr === null || Array.isArray(pr))
    throw r.err("prices", `must be an object of model -> price, got ${kind(pr)}`);
  const prices: Record<string, Price> = {};
  for (const [model, v] of Object.entries(pr)) {
    const p = `prices.${model}`;
    const o = r.obj(v, p, ["inputPerMTok", "outputPerMTok"]);
    const inputPerMTok = r.num(o, "inputPerMTok", p, 0, 1e6);
    const outputPerMTok = r.num(o, "outputPerMTok", p, 0, 1e6);
    if (inputPerMTok === undefined || outputPerMTok === undefined)
      throw r.err(p, "needs 'inputPerMTok' and 'outputPerMTok' (USD per million tokens)");
    prices[model] = { inputPerMTok, outputPerMTok };
  }

  const cl = r.obj(top.cloud ?? {}, "cloud", Object.keys(D.cloud));
  const cloud = { ...D.cloud };
  for (const k of Object.keys(D.cloud) as (keyof Policy["cloud"])[]) {
    const int = k === "maxRetries" || k === "breakerFailures";
    cloud[k] =
      r.num(
        cl,
        k,
        "cloud",
        int ? (k === "breakerFailures" ? 1 : 0) : 0,
        k === "maxRetries" ? 10 : 1e8,
        int,
      ) ?? D.cloud[k];
  }
  if (cloud.backoffMaxMs < cloud.backoffBaseMs)
    throw r.err("cloud.backoffMaxMs", `must be >= backoffBaseMs (${cloud.backoffBaseMs})`);

  const sp = r.obj(top.spill ?? {}, "spill", ["maxWaiting"]);
  const spill = { maxWaiting: r.num(sp, "maxWaiting", "spill", 0, 1e6, true) };

  return { privacy, local, escalation, budgets, prices, cloud, spill };
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
