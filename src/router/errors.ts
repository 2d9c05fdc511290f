/**
 * Typed errors of the router: a cloud call that failed (and why), and a policy file that does not
 * validate. Both carry the context the user needs to act (URL, HTTP status, policy field path).
 */
import { EdgeLLMError, InputError, type ErrorContext } from "../errors.js";

/**
 * Why a cloud call failed:
 *   unreachable  - connection refused/reset, DNS, socket closed before a response
 *   timeout      - no response (or no stream progress) within the time allowed
 *   http         - the endpoint answered with a non-2xx status (after retries where retryable)
 *   circuit_open - the circuit breaker is open: the call was not attempted
 *   protocol     - a 2xx answer that is not OpenAI-shaped (bad JSON, no choices, broken SSE)
 *   aborted      - the caller cancelled
 */
export type CloudFailureKind = "unreachable" | "timeout" | "http" | "circuit_open" | "protocol" | "aborted";

export class CloudError extends EdgeLLMError {
  constructor(
    message: string,
    readonly kind: CloudFailureKind,
    readonly status: number | undefined = undefined,
    readonly attempts = 0,
    context: ErrorContext = {},
  ) {
    super(message, context);
  }
}

/** A policy file (or object) that does not validate; `field` is the JSON path, e.g. escalation.minMeanLogprob. */
export class PolicyError extends InputError {}
