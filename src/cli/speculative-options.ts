/**
 * Speculative decoding flags shared by run/chat/serve/bench: `--draft <gguf>` (a draft model with
 * the target's vocabulary), `--draft-max N` (most tokens drafted per step), `--lookup` (prompt
 * lookup: n-gram drafts from the context, no draft model). They become loadLLM's `draft` and
 * `speculative` (the default for every request).
 */
import type { Command } from "commander";
import { InputError } from "../errors.js";
import type { SpeculativeOptions } from "../engine/speculative.js";

export interface SpeculativeCliOptions {
  draft?: string;
  draftMax?: string;
  lookup?: boolean;
}

export function addSpeculativeOptions(cmd: Command): Command {
  return cmd
    .option("--draft <gguf>", "speculative decoding with this draft model (same vocabulary as the model)")
    .option("--draft-max <n>", "most tokens drafted per step (default 8)")
    .option(
      "--lookup",
      "speculative decoding by prompt lookup (n-gram drafts from the context; no draft model)",
    );
}

/** loadLLM options { draft, speculative } from the flags (none given: {}). */
export function speculativeOptions(o: SpeculativeCliOptions): {
  draft?: string;
  speculative?: SpeculativeOptions;
} {
  if (o.draft !== undefined && o.lookup) throw new InputError("give --draft or --lookup, not both");
  let maxDraft: number | undefined;
  if (o.draftMax !== undefined) {
    maxDraft = Number(o.draftMax);
    if (!(Number.isInteger(maxDraft) && maxDraft >= 1 && maxDraft <= 64))
      throw new InputError(`--draft-max must be an integer in 1..64, got '${o.draftMax}'`);
    if (o.draft === undefined && !o.lookup)
      throw new InputError("--draft-max needs --draft <gguf> or --lookup");
  }
  if (o.draft === undefined && !o.lookup) return {};
  const method = o.lookup ? ("lookup" as const) : ("draft" as const);
  return {
    ...(o.draft !== undefined ? { draft: o.draft } : {}),
    speculative: { method, ...(maxDraft !== undefined ? { maxDraft } : {}) },
  };
}

/** "drafted N, accepted M (P%), F target steps" from two engine stats, or "" when nothing was drafted. */
export function speculativeReport(
  s0: { draftTokens: number; acceptedDraftTokens: number; steps: number },
  s1: { draftTokens: number; acceptedDraftTokens: number; steps: number },
): string {
  const d = s1.draftTokens - s0.draftTokens;
  const a = s1.acceptedDraftTokens - s0.acceptedDraftTokens;
  if (d === 0) return "";
  return ` | drafted ${d}, accepted ${a} (${((100 * a) / d).toFixed(0)}%), ${s1.steps - s0.steps} target steps`;
}
