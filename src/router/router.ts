/**
 * The router: one policy, an optional cloud client, the verifiers, and the metrics. Transport
 * independent (the server's chat route, through server/routing, and the chat CLI both drive it):
 *   plan(features, env)            -> Plan (hard rules, before generation)
 *   verify(question, answer)       -> verifier verdicts for a local answer
 *   judge(features, env, outcome)  -> RouteDecision (escalate or not)
 *   record(decision)               -> metrics
 */
import { Registry } from "prom-client";
import { CloudClient } from "./cloud-client.js";
import { judgeLocal, planRoute, type Plan, type RoutingEnv } from "./decide.js";
import type { RouteDecision } from "./decision.js";
import { PolicyError } from "./errors.js";
import type { RequestFeatures } from "./features.js";
import { RouterMetrics } from "./metrics.js";
import { DEFAULT_POLICY, type Policy } from "./policy.js";
import { verifierSignal, type LocalOutcome, type VerifierResult } from "./signals.js";
import { buildVerifier } from "../verify/spec.js";
import type { Verdict, Verifier } from "../verify/verifier.js";

export interface RouterOptions {
  policy?: Policy;
  cloud?: CloudClient;
  /** Extra verifiers beside the policy's (any src/verify Verifier; accepted when score >= 0.5). */
  verifiers?: Verifier[];
  /** Registry for the counters (the server's); default a private one. */
  registry?: Registry;
}

export interface CloudFlags {
  /** Base URL of the OpenAI-compatible cloud (vLLM: http://host:8000/v1). */
  url: string;
  model: string;
  apiKey?: string;
}

export class Router {
  readonly policy: Policy;
  readonly cloud: CloudClient | undefined;
  readonly metrics: RouterMetrics;
  private readonly verifiers: Verifier[];

  constructor(o: RouterOptions = {}) {
    this.policy = o.policy ?? DEFAULT_POLICY;
    this.cloud = o.cloud;
    this.verifiers = [
      ...this.policy.escalation.verifiers.map((s) => buildVerifier(s)),
      ...(o.verifiers ?? []),
    ];
    if (this.cloud && this.policy.budgets.maxCostUsd !== undefined && !this.policy.prices[this.cloud.model]) {
      throw new PolicyError(
        `budgets.maxCostUsd is set but prices has no entry for the cloud model '${this.cloud.model}'`,
        { field: `prices.${this.cloud.model}`, hint: "add { inputPerMTok, outputPerMTok } for it" },
      );
    }
    this.metrics = new RouterMetrics(o.registry ?? new Registry(), this.cloud?.breaker);
  }

  plan(f: RequestFeatures, env: Omit<RoutingEnv, "cloudModel">): Plan {
    return planRoute(this.policy, { ...env, cloudModel: this.cloud?.model }, f);
  }

  judge(
    f: RequestFeatures,
    env: Omit<RoutingEnv, "cloudModel">,
    o: LocalOutcome,
    elapsedMs: number,
  ): RouteDecision {
    return judgeLocal(this.policy, { ...env, cloudModel: this.cloud?.model }, f, o, elapsedMs);
  }

  async verify(question: string, answer: string): Promise<VerifierResult[]> {
    const out: VerifierResult[] = [];
    for (const v of this.verifiers) {
      let r: Verdict;
      try {
        r = await v.verify({ question, text: answer });
      } catch (e) {
        // A broken verifier must not lose the request: it abstains, and says why.
        out.push({
          name: v.name ?? "verifier",
          accepted: undefined,
          detail: `verifier failed: ${(e as Error).message}`,
        });
        continue;
      }
      // Outside the try: a verdict that is not one (null, no score) is a bug, answered with a 500.
      out.push(verifierSignal(v.name, r));
    }
    return out;
  }

  record(d: RouteDecision): void {
    this.metrics.record(d);
  }

  /** Latency budget left for a cloud call, given time already spent. */
  cloudBudgetMs(elapsedMs: number): number | undefined {
    const max = this.policy.budgets.maxLatencyMs;
    return max === undefined ? undefined : Math.max(1, max - elapsedMs);
  }
}

/** Router from CLI-style settings: the cloud client takes its timeouts/retries/breaker from the policy. */
export function createRouter(
  policy: Policy,
  cloud: CloudFlags | undefined,
  registry?: Registry,
  verifiers?: Verifier[],
): Router {
  const c = policy.cloud;
  const client = cloud
    ? new CloudClient({
        baseUrl: cloud.url,
        model: cloud.model,
        apiKey: cloud.apiKey,
        timeoutMs: c.timeoutMs,
        streamIdleMs: c.streamIdleMs,
        maxRetries: c.maxRetries,
        backoff: { baseMs: c.backoffBaseMs, maxMs: c.backoffMaxMs },
        breaker: { failureThreshold: c.breakerFailures, cooldownMs: c.breakerCooldownMs },
      })
    : undefined;
  return new Router({ policy, cloud: client, registry, verifiers });
}
