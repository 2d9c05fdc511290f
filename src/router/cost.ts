/**
 * Budget estimates for a cloud call: cost from the price table (USD per million tokens, as
 * provider price lists quote it) and latency from the policy's latency model.
 */
import type { Policy } from "./policy.js";

export function estimateCostUsd(
  policy: Policy,
  model: string,
  promptTokens: number,
  outputTokens: number,
): number | undefined {
  const p = policy.prices[model];
  if (!p) return undefined;
  return (promptTokens * p.inputPerMTok + outputTokens * p.outputPerMTok) / 1e6;
}

export function estimateCloudLatencyMs(policy: Policy, outputTokens: number): number {
  return policy.cloud.expectedFirstTokenMs + outputTokens * policy.cloud.expectedPerTokenMs;
}
