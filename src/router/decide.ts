/**
 * Policy evaluation, in two pure steps:
 *   planRoute  - before generation: hard rules (context, capabilities, privacy), spill on local
 *                overload, cost budget; says whether the local answer must pass checks first;
 *   judgeLocal - after a local answer: the escalation checks (verifiers, agreement, mean
 *                logprob) and the cost/latency budgets decide local or cloud.
 * Every outcome is a RouteDecision with a reason and a sentence holding the numbers.
 */
import { estimateCloudLatencyMs, estimateCostUsd } from "./cost.js";
import type { RouteDecision, RouteReason } from "./decision.js";
import type { RequestFeatures } from "./features.js";
import { hasEscalation, type Policy, type Privacy } from "./policy.js";
import type { LocalOutcome } from "./signals.js";

export interface RoutingEnv {
  /** Cloud model name; undefined when no cloud is configured. */
  cloudModel: string | undefined;
  /** Local context size in tokens (the policy's local.contextTokens overrides it). */
  localContext: number;
  /** Requests waiting in the local engine right now. */
  localWaiting: number;
  /** The local model reads images (a vision encoder is loaded: serve --mmproj); or policy local.images. */
  localImages?: boolean;
}

export type Plan =
  | { kind: "cloud"; decision: RouteDecision }
  /** checks: answer locally, then judge the answer (local-first escalation). */
  | { kind: "local"; decision: RouteDecision; checks: boolean }
  | { kind: "reject"; status: number; decision: RouteDecision };

export function effectivePrivacy(policy: Policy, f: RequestFeatures): Privacy {
  return policy.privacy === "local_only" || f.privacy === "local_only" ? "local_only" : "cloud_ok";
}

function outputTokens(policy: Policy, f: RequestFeatures): number {
  return f.maxTokens ?? policy.budgets.assumeOutputTokens;
}

/** Cloud cost estimate and whether it fits the budget. */
function costCheck(
  policy: Policy,
  env: RoutingEnv,
  f: RequestFeatures,
): { cost: number | undefined; over: boolean; text: string } {
  const cost =
    env.cloudModel === undefined
      ? undefined
      : estimateCostUsd(policy, env.cloudModel, f.promptTokens, outputTokens(policy, f) * f.n);
  const max = policy.budgets.maxCostUsd;
  const over = max !== undefined && cost !== undefined && cost > max;
  return {
    cost,
    over,
    text:
      cost === undefined
        ? ""
        : `estimated cloud cost $${cost.toPrecision(3)}${max !== undefined ? ` vs budget $${max}` : ""}`,
  };
}

export function planRoute(policy: Policy, env: RoutingEnv, f: RequestFeatures): Plan {
  const privacy = effectivePrivacy(policy, f);
  const ctx = policy.local.contextTokens ?? env.localContext;
  const need = f.maxTokens ?? 1;
  // Hard rules: what the local model cannot serve at all.
  let hard: { reason: RouteReason; text: string } | undefined;
  if (f.promptTokens + need > ctx)
    hard = {
      reason: "context_overflow",
      text: `prompt ${f.promptTokens} + max_tokens ${f.maxTokens ?? "(at least 1)"} > local context ${ctx}`,
    };
  else if (f.tools && !policy.local.tools)
    hard = { reason: "needs_tools", text: "the request uses tools; the local model has no tool calling" };
  else if (f.images && !(policy.local.images || env.localImages))
    hard = { reason: "needs_images", text: "the request has image input; the local model is text-only" };
  const cost = costCheck(policy, env, f);

  if (hard) {
    if (privacy === "local_only")
      return {
        kind: "reject",
        status: 400,
        decision: {
          route: "rejected",
          reason: "local_only",
          details: `${hard.text}, and privacy is local_only (the request may not leave the device)`,
        },
      };
    if (env.cloudModel === undefined)
      return {
        kind: "reject",
        status: 400,
        decision: {
          route: "rejected",
          reason: "no_cloud",
          details: `${hard.text}, and no cloud endpoint is configured`,
        },
      };
    if (cost.over)
      return {
        kind: "reject",
        status: 400,
        decision: {
          route: "rejected",
          reason: "cost_budget",
          details: `${hard.text}, and the ${cost.text}`,
          estimatedCostUsd: cost.cost,
        },
      };
    return {
      kind: "cloud",
      decision: {
        route: "cloud",
        reason: hard.reason,
        details: hard.text + (cost.text ? `; ${cost.text}` : ""),
        estimatedCostUsd: cost.cost,
      },
    };
  }

  if (privacy === "local_only")
    return {
      kind: "local",
      checks: false,
      decision: {
        route: "local",
        reason: "local_only",
        details: "privacy local_only: served on the device, no escalation",
      },
    };
  if (env.cloudModel === undefined)
    return {
      kind: "local",
      checks: false,
      decision: { route: "local", reason: "no_cloud", details: "no cloud endpoint configured" },
    };

  const spill = policy.spill.maxWaiting;
  if (spill !== undefined && env.localWaiting >= spill && !cost.over) {
    return {
      kind: "cloud",
      decision: {
        route: "cloud",
        reason: "local_overloaded",
        details:
          `${env.localWaiting} requests waiting locally >= spill threshold ${spill}` +
          (cost.text ? `; ${cost.text}` : ""),
        estimatedCostUsd: cost.cost,
      },
    };
  }
  const checks = hasEscalation(policy) && f.n === 1;
  const why = !hasEscalation(policy)
    ? "no escalation checks configured"
    : f.n > 1
      ? `n=${f.n}: escalation checks apply to n=1 only`
      : "local answer pending checks";
  return { kind: "local", checks, decision: { route: "local", reason: "local_default", details: why } };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(3);
}

/**
 * After the local answer: escalate when a check fails, unless a budget forbids it.
 * @param elapsedMs time already spent on this request (for the latency budget).
 */
export function judgeLocal(
  policy: Policy,
  env: RoutingEnv,
  f: RequestFeatures,
  o: LocalOutcome,
  elapsedMs: number,
): RouteDecision {
  const e = policy.escalation;
  const failed: { reason: RouteReason; text: string }[] = [];
  const passed: string[] = [];
  for (const v of o.verifiers ?? []) {
    if (v.accepted === false && v.name === "refusal")
      failed.push({ reason: "local_declined", text: v.detail });
    else if (v.accepted === false)
      failed.push({ reason: "verifier_rejected", text: `${v.name} verifier rejected: ${v.detail}` });
    else passed.push(`${v.name}: ${v.detail}`);
  }
  if (e.minVerifierScore !== undefined && o.verifierScore !== undefined) {
    if (o.verifierScore < e.minVerifierScore)
      failed.push({
        reason: "low_verifier_score",
        text: `verifier score ${fmt(o.verifierScore)} < ${e.minVerifierScore}`,
      });
    else passed.push(`verifier score ${fmt(o.verifierScore)} >= ${e.minVerifierScore}`);
  }
  if (e.agreement && o.agreement !== undefined) {
    if (o.agreement < e.agreement.threshold)
      failed.push({
        reason: "low_agreement",
        text: `agreement ${fmt(o.agreement)} of ${o.agreementSamples ?? e.agreement.samples} samples < ${e.agreement.threshold}`,
      });
    else passed.push(`agreement ${fmt(o.agreement)} >= ${e.agreement.threshold}`);
  }
  if (e.minMeanLogprob !== undefined && o.meanLogprob !== undefined) {
    if (o.meanLogprob < e.minMeanLogprob)
      failed.push({
        reason: "low_logprob",
        text: `mean logprob ${fmt(o.meanLogprob)} < ${e.minMeanLogprob}`,
      });
    else passed.push(`mean logprob ${fmt(o.meanLogprob)} >= ${e.minMeanLogprob}`);
  }
  const signals: RouteDecision["signals"] = {
    meanLogprob: o.meanLogprob,
    agreement: o.agreement,
    verifierScore: o.verifierScore,
    verifiers: o.verifiers?.map((v) => ({ name: v.name, accepted: v.accepted, detail: v.detail })),
  };
  if (failed.length === 0)
    return {
      route: "local",
      reason: "local_default",
      details: passed.length ? `checks passed: ${passed.join("; ")}` : "no check applied",
      signals,
    };

  const first = failed[0];
  const why = failed.map((x) => x.text).join("; ");
  const cost = costCheck(policy, env, f);
  if (cost.over)
    return {
      route: "local",
      reason: "cost_budget",
      details: `${why}; not escalated: ${cost.text}`,
      estimatedCostUsd: cost.cost,
      signals,
    };
  const max = policy.budgets.maxLatencyMs;
  if (max !== undefined) {
    const est = estimateCloudLatencyMs(policy, outputTokens(policy, f));
    if (elapsedMs + est > max)
      return {
        route: "local",
        reason: "latency_budget",
        details: `${why}; not escalated: ${Math.round(elapsedMs)} ms spent + ~${Math.round(est)} ms cloud > budget ${max} ms`,
        signals,
      };
  }
  return {
    route: "cloud",
    reason: first.reason,
    details: why + (cost.text ? `; ${cost.text}` : ""),
    estimatedCostUsd: cost.cost,
    signals,
  };
}
