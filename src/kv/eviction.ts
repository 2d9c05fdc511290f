/**
 * Token eviction: which positions a sequence gives up when it reaches its KV budget, so it can
 * keep generating in bounded memory. A policy only chooses a run of positions to drop; the engine
 * drops it the way context shift does (engine/context-shift.ts: later rows move down, K rows
 * RoPE-shifted in place, or the tail re-prefilled), so the block table stays contiguous and every
 * attention kernel reads it unchanged. One run per eviction keeps that a compaction of whole
 * rows; per-head token sets (H2O/SnapKV as published) would need per-head block tables — not
 * implemented (see the KV issue).
 */
import { InputError } from "../errors.js";

export interface EvictionPolicy {
  readonly name: string;
  /** Most positions the sequence holds (its KV budget, at most the context size). */
  readonly budget: number;
  /** The sequence holds `len` (= budget) positions: drop [from, from + count), count >= 1. */
  select(len: number): { from: number; count: number };
}

/**
 * StreamingLLM (Xiao et al. 2023): keep the first `sinks` positions (attention sinks) and the
 * most recent `window`; everything between goes when the budget is reached. Memory is bounded
 * by `budget` positions; each eviction costs O(window) row moves, once per budget - sinks -
 * window generated tokens.
 */
export class StreamingLLM implements EvictionPolicy {
  readonly name = "streaming-llm";
  constructor(
    readonly budget: number,
    readonly sinks = 4,
    readonly window = Math.floor((budget - sinks) / 2),
  ) {
    if (!(Number.isInteger(budget) && Number.isInteger(sinks) && Number.isInteger(window)))
      throw new InputError("StreamingLLM budget, sinks and window must be integers");
    if (sinks < 0 || window < 1 || sinks + window >= budget)
      throw new InputError(
        `StreamingLLM needs sinks + window < budget (sinks ${sinks}, window ${window}, budget ${budget})`,
      );
  }

  select(len: number): { from: number; count: number } {
    return { from: this.sinks, count: Math.max(1, len - this.sinks - this.window) };
  }
}
