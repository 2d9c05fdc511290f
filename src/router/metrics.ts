/**
 * Prometheus counters of the router, registered on the server's own registry so one /metrics
 * scrape shows them beside the engine's:
 *   edgellm_route_requests_total{route, reason}           every routed chat request
 *   edgellm_route_escalation_failures_total{kind}          cloud wanted but failed (CloudError kind)
 *   edgellm_route_cloud_request_seconds                    cloud call latency (headers for streams)
 *   edgellm_route_cloud_estimated_cost_usd_total           price-table estimate of cloud spend
 *   edgellm_route_cloud_circuit_open                       1 while the breaker refuses calls
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { CircuitBreaker } from "./breaker.js";
import type { RouteDecision } from "./decision.js";

export class RouterMetrics {
  readonly requests: Counter;
  readonly failures: Counter;
  readonly cloudSeconds: Histogram;
  readonly cost: Counter;
  readonly circuit: Gauge;

  constructor(registry: Registry, breaker?: CircuitBreaker) {
    const registers = [registry];
    this.requests = new Counter({
      name: "edgellm_route_requests_total",
      help: "Chat requests by where they ran and why",
      labelNames: ["route", "reason"],
      registers,
    });
    this.failures = new Counter({
      name: "edgellm_route_escalation_failures_total",
      help: "Cloud calls that failed when the policy wanted the cloud, by failure kind",
      labelNames: ["kind"],
      registers,
    });
    this.cloudSeconds = new Histogram({
      name: "edgellm_route_cloud_request_seconds",
      help: "Cloud call latency (to the response headers for streams)",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.cost = new Counter({
      name: "edgellm_route_cloud_estimated_cost_usd_total",
      help: "Estimated cloud spend from the policy's price table",
      registers,
    });
    this.circuit = new Gauge({
      name: "edgellm_route_cloud_circuit_open",
      help: "1 while the cloud circuit breaker is open",
      registers,
      collect() {
        this.set(breaker && breaker.state === "open" ? 1 : 0);
      },
    });
  }

  /** Also expose these series on another registry (the server's /metrics). */
  registerOn(registry: Registry): void {
    for (const m of [this.requests, this.failures, this.cloudSeconds, this.cost, this.circuit]) {
      if (!registry.getSingleMetric((m as unknown as { name: string }).name)) registry.registerMetric(m);
    }
  }

  record(d: RouteDecision): void {
    this.requests.inc({ route: d.route, reason: d.reason });
    if (d.route === "cloud" && d.estimatedCostUsd !== undefined) this.cost.inc(d.estimatedCostUsd);
  }
}
