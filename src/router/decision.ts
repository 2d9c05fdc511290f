/**
 * A routing decision record: where a request ran and why, in a form that is put in the response
 * (field `route`), the headers (x-edgellm-route, x-edgellm-route-reason) and the metrics labels.
 */

/** "rejected": neither tier may serve it (e.g. a local_only request beyond the local context). */
export type Route = "local" | "cloud" | "rejected";

export type RouteReason =
  // served locally
  | "local_default" // local-first and every configured check passed (or none configured)
  | "local_only" // privacy forbids the cloud
  | "cost_budget" // the cloud would cost more than the budget
  | "latency_budget" // the cloud could not answer within the latency budget
  | "no_cloud" // no cloud endpoint configured
  // sent to the cloud by a hard rule
  | "context_overflow" // prompt + max_tokens beyond the local context
  | "needs_tools" // tool calling, which the local model lacks
  | "needs_images" // image input, which the local model lacks
  | "local_overloaded" // local queue over the spill threshold
  // escalated after a local answer
  | "local_declined" // the local model said it cannot answer (refusal verifier)
  | "verifier_rejected"
  | "low_verifier_score"
  | "low_agreement"
  | "low_logprob";

export interface RouteDecision {
  route: Route;
  reason: RouteReason;
  /** A sentence a person can read: the numbers that decided. */
  details: string;
  /** The request wanted the cloud (escalation or hard rule) but the cloud failed; the local answer was served. */
  escalationFailed?: boolean;
  /** Why the cloud failed (CloudError kind and message). */
  cloudError?: string;
  /** Estimated cloud cost in USD when the cloud was considered. */
  estimatedCostUsd?: number;
  /** The local signals measured (local-first requests). */
  /** Milliseconds: the local answer and its checks (local-first), the cloud call (JSON: whole answer; stream: headers). */
  timings?: { localMs?: number; cloudMs?: number };
  signals?: {
    meanLogprob?: number;
    agreement?: number;
    verifierScore?: number;
    verifiers?: { name: string; accepted: boolean | undefined; detail: string }[];
  };
}

/** The JSON form put in responses (snake_case like the rest of the OpenAI wire format). */
export function decisionJson(d: RouteDecision): Record<string, unknown> {
  const o: Record<string, unknown> = { target: d.route, reason: d.reason, details: d.details };
  if (d.escalationFailed) o.escalation_failed = true;
  if (d.cloudError) o.cloud_error = d.cloudError;
  if (d.estimatedCostUsd !== undefined) o.estimated_cost_usd = d.estimatedCostUsd;
  if (d.signals) o.signals = d.signals;
  if (d.timings) o.timings_ms = { local: round(d.timings.localMs), cloud: round(d.timings.cloudMs) };
  return o;
}

function round(x: number | undefined): number | undefined {
  return x === undefined ? undefined : Math.round(x * 10) / 10;
}
