/**
 * Token eviction: which positions a sequence gives up when it reaches its KV budget, so it can
 * keep generating in bounded memory. A policy only chooses a run of positions to drop; the engine
 * drops it the way context shift does (engine/context-shift.ts: later rows move down, K rows
 * RoPE-shifted in place, or the tail re-prefilled), so the block table stays contiguous and every
 * attention kernel reads it unchanged. One run per eviction keeps that a compaction of whole
 * rows; per-head token sets (H2O/SnapKV as published) would need per-head block tables — not
 * implemented (see the KV issue). Policies: StreamingLLM, SlidingWindow (SWA models).
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

/**
 * Sliding-window attention models (every layer's window `window`): positions older than the
 * window are never attended again, so when the sequence reaches `budget` positions everything but
 * the last `window` goes. RoPE is relative, so the shifted rows give the same attention (up to
 * float rounding of the rotation); memory is bounded by `budget` instead of the context. Needs
 * the engine's "rope" shift: a re-prefilled tail would lose what its rows saw through the lower
 * layers' windows (the receptive field grows with depth). Test: greedy-identical to a full cache.
 */
export class SlidingWindow implements EvictionPolicy {
  readonly name = "sliding-window";
  constructor(
    readonly window: number,
    readonly budget = 2 * window,
  ) {
    if (!(Number.isInteger(window) && window >= 1 && Number.isInteger(budget) && budget > window))
      throw new InputError(
        `SlidingWindow needs integers window >= 1 and budget > window (${window}, ${budget})`,
      );
  }

  select(len: number): { from: number; count: number } {
    return { from: 0, count: Math.max(1, len - this.window) };
  }
}

/** The SlidingWindow policy for a model whose every layer has a sliding window, else undefined. */
export function slidingWindowPolicy(
  c: { slidingWindow: number; nLayers: number },
  windowOf: (layer: number) => number,
  budget?: number,
): SlidingWindow | undefined {
  let w = 0;
  for (let l = 0; l < c.nLayers; l++) {
    const lw = windowOf(l);
    if (lw <= 0) return undefined; // a full-attention layer still reads every position
    w = Math.max(w, lw);
  }
  return new SlidingWindow(w, budget ?? 2 * w);
}
