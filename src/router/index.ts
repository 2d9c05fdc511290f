/**
 * Edge + cloud routing: the cloud client, the policy and its decisions (planRoute/judgeLocal, or a
 * Router). The server acts on them in server/routing (installRouter, exported by edgellm/node's server).
 */
export {
  CloudClient,
  normalizeBaseUrl,
  type CloudClientOptions,
  type CloudCallOptions,
  type CloudJson,
  type CloudStream,
} from "./cloud-client.js";
export { CircuitBreaker, type BreakerState, type BreakerOptions } from "./breaker.js";
export { CloudError, PolicyError, type CloudFailureKind } from "./errors.js";
export {
  parsePolicy,
  loadPolicy,
  DEFAULT_POLICY,
  hasEscalation,
  type Policy,
  type Privacy,
  type Price,
} from "./policy.js";
export { planRoute, judgeLocal, type Plan, type RoutingEnv } from "./decide.js";
export { decisionJson, type Route, type RouteReason, type RouteDecision } from "./decision.js";
export { extractFeatures, type RequestFeatures } from "./features.js";
export { meanLogprob, verifierSignal, type LocalOutcome, type VerifierResult } from "./signals.js";
export { Router, createRouter, type RouterOptions, type CloudFlags } from "./router.js";
