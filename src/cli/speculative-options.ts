/**
 * Speculative decoding flags shared by run/chat/serve/bench: `--draft <gguf>` (a draft model with
 * the target's vocabulary), `--draft-max N` (most tokens drafted per step), `--lookup` (prompt
 * lookup: n-gram drafts from the context, no draft model), `--draft-layers K` (self-speculative
 * early exit: the model's own first K layers draft). They become loadLLM's `draft` and
 * `speculative` (the default for every request).
 */
import type { Command } from "commander";
import { InputError } from "../errors.js";
import type { SpeculativeOptions } from "../engine/speculative.js";

export interface SpeculativeCliOptions {
  draft?: string;
  draftMax?: string;
  lookup?: boolean;
  draftLayers?: string;
  draftPMin?: string;
}

export const DRAFT_LAYERS_FLAG = "--draft-layers <k>";
export const DRAFT_LAYERS_HELP =
  "self-speculative decoding: the model's own first k layers draft (early exit, LayerSkip), the rest verify";
export const DRAFT_P_MIN_FLAG = "--draft-p-min <p>";
export const DRAFT_P_MIN_HELP =
  "with --draft or --draft-layers: stop drafting when the draft's top token has probability under p (default 0)";

export function addSpeculativeOptions(cmd: Command): Command {
  return cmd
    .option("--draft <gguf>", "speculative decoding with this draft model (same vocabulary as the model)")
    .option("--draft-max <n>", "most tokens drafted per step (default 8)")
    .option(
      "--lookup",
      "speculative decoding by prompt lookup (n-gram drafts from the context; no draft model)",
    )
    .option(DRAFT_LAYERS_FLAG, DRAFT_LAYERS_HELP)
    .option(DRAFT_P_MIN_FLAG, DRAFT_P_MIN_HELP);
}

/** loadLLM options { draft, speculative } from the flags (none given: {}). */
export function speculativeOptions(o: SpeculativeCliOptions): {
  draft?: string;
  speculative?: SpeculativeOptions;
} {
  const given = [
    o.draft !== undefined && "--draft",
    o.lookup && "--lookup",
    o.draftLayers !== undefined && "--draft-layers",
  ].filter(Boolean);
  if (given.length > 1)
    throw new InputError(`give one of --draft, --lookup, --draft-layers, not ${given.join(" and ")}`);
  let maxDraft: number | undefined;
  if (o.draftMax !== undefined) {
    maxDraft = Number(o.draftMax);
    if (!(Number.isInteger(maxDraft) && maxDraft >= 1 && maxDraft <= 64))
      throw new InputError(`--draft-max must be an integer in 1..64, got '${o.draftMax}'`);
    if (given.length === 0)
      throw new InputError("--draft-max needs --draft <gguf>, --lookup or --draft-layers <k>");
  }
  let draftLayers: number | undefined;
  if (o.draftLayers !== undefined) {
    draftLayers = Number(o.draftLayers);
    // The upper bound (the model's layers - 1) is checked when the model is loaded (loadLLM).
    if (!(/^\d+$/.test(o.draftLayers.trim()) && draftLayers >= 1))
      throw new InputError(
        `--draft-layers must be a positive integer (layers that draft), got '${o.draftLayers}'`,
      );
  }
  let draftPMin: number | undefined;
  if (o.draftPMin !== undefined) {
    draftPMin = Number(o.draftPMin);
    if (!(o.draftPMin.trim() !== "" && draftPMin >= 0 && draftPMin <= 1))
      throw new InputError(`--draft-p-min must be a number in [0, 1], got '${o.draftPMin}'`);
    if (o.draft === undefined && draftLayers === undefined)
      throw new InputError("--draft-p-min needs --draft <gguf> or --draft-layers <k>");
  }
  if (given.length === 0) return {};
  const method = o.lookup
    ? ("lookup" as const)
    : draftLayers !== undefined
      ? ("early-exit" as const)
      : ("draft" as const);
  return {
    ...(o.draft !== undefined ? { draft: o.draft } : {}),
    speculative: {
      method,
      ...(maxDraft !== undefined ? { maxDraft } : {}),
      ...(draftLayers !== undefined ? { draftLayers } : {}),
      ...(draftPMin !== undefined ? { draftPMin } : {}),
    },
  };
}

/** The method in words: "lookup", "draft d.gguf", "early exit after K layers". */
export function speculativeMethod(s: SpeculativeOptions, draft: string | undefined): string {
  if (draft) return `draft ${draft.split(/[\\/]/).pop()}`;
  if (s.method === "early-exit" || (s.method === undefined && s.draftLayers !== undefined))
    return `early exit after ${s.draftLayers} layers`;
  return "lookup";
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
