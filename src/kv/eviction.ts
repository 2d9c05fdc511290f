/**
 * Token eviction: which positions a sequence gives up when it reaches its KV budget, so it can
 * keep generating in bounded memory. A policy only chooses a run of positions to drop; the engine
 * drops it the way context shift does (engine/context-shift.ts: later rows move down, K rows
 * RoPE-shifted in place, or the tail re-prefilled), so the block table stays contiguous and every
 * attention kernel reads it unchanged. A scored policy (H2O) picks any set of positions instead:
 * the engine compacts the kept rows the same way (each moved row RoPE-shifted by its own offset),
 * one token set per sequence, shared by every head and layer. A per-head policy (SnapKV) picks a
 * set per layer and KV head, all of one size: the compaction then fills each head's slice of the
 * rows 0..size-1 from that head's kept positions (engine/context-shift.ts compactPerHead), so the
 * block table stays one contiguous run and every attention kernel reads it unchanged — per-head
 * block tables would need a new table layout and kernel for the same result. Slot i of a head
 * holds its i-th kept position, RoPE-shifted to i (as every compaction here renumbers positions).
 * Policies: StreamingLLM, SlidingWindow (SWA models), H2O (accumulated attention mass), SnapKV
 * (observation-window attention per head).
 */
import { InputError } from "../errors.js";

export interface EvictionPolicy {
  readonly name: string;
  /** Most positions the sequence holds (its KV budget, at most the context size). */
  readonly budget: number;
  /** The sequence holds `len` (= budget) positions: drop [from, from + count), count >= 1. */
  select(len: number): { from: number; count: number };
  /**
   * Scored policies: the engine accumulates, per position, the attention probability it has
   * received (summed over queries, heads and layers: kv/attn-scores.ts) and asks for the
   * positions to drop (ascending, at least one, the last position never) instead of `select`.
   */
  readonly scored?: boolean;
  selectPositions?(len: number, scores: Float64Array): number[];
  /**
   * Per-head policies: the engine keeps the newest `observe` query rows of every layer
   * (kv/obs-queries.ts), scores every position per layer and KV head with them
   * (kv/attn-scores.ts observedScores) and asks for the positions each head keeps:
   * [layer][kvHead] ascending, every list the same length, the newest position in each.
   */
  readonly observe?: number;
  selectPerHead?(len: number, scores: Float64Array[][]): number[][][];
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

/**
 * H2O, "heavy hitters" (Zhang et al. 2023), per sequence: keep the `recent` newest positions and,
 * of the older ones, the `heavy` that have received the most attention so far (accumulated
 * attention probability summed over every query, head and layer since the position was written).
 * The paper evicts one token per step at a constant budget; here, like StreamingLLM, a sequence
 * that reaches `budget` positions drops down to heavy + recent at once, so the compaction (row
 * moves, RoPE shifts) is paid once per budget - heavy - recent tokens. Defaults: a quarter of the
 * budget each. The first `sinks` positions are always kept (attention sinks; 0 = pure H2O).
 */
export class H2O implements EvictionPolicy {
  readonly name = "h2o";
  readonly scored = true;
  constructor(
    readonly budget: number,
    readonly heavy = Math.floor(budget / 4),
    readonly recent = Math.floor(budget / 4),
    readonly sinks = 0,
  ) {
    for (const [k, v] of Object.entries({ budget, heavy, recent, sinks }))
      if (!Number.isInteger(v) || v < 0)
        throw new InputError(`H2O ${k} must be a non-negative integer, got ${v}`);
    if (recent < 1 || sinks + heavy + recent >= budget)
      throw new InputError(
        `H2O needs recent >= 1 and sinks + heavy + recent < budget (sinks ${sinks}, heavy ${heavy}, recent ${recent}, budget ${budget})`,
      );
  }

  /** Run form for callers without scores: drops what StreamingLLM would (no heavy hitters known). */
  select(len: number): { from: number; count: number } {
    return { from: this.sinks, count: Math.max(1, len - this.sinks - this.recent) };
  }

  selectPositions(len: number, scores: Float64Array): number[] {
    const lo = Math.min(this.sinks, len);
    const hi = Math.max(lo, len - this.recent); // [lo, hi): candidates; [hi, len) recent, kept
    const cand: number[] = [];
    for (let p = lo; p < hi; p++) cand.push(p);
    // Highest accumulated attention first; ties keep the newer position.
    cand.sort((a, b) => scores[b] - scores[a] || b - a);
    const drop = cand.slice(this.heavy);
    if (drop.length === 0) drop.push(cand.length ? cand[cand.length - 1] : Math.max(0, len - 2));
    return drop.sort((a, b) => a - b);
  }
}

/**
 * SnapKV (Li et al. 2024), per sequence, per layer and KV head: the newest `window` positions are
 * the observation window; the attention their queries pay to each older position (summed over the
 * window's queries and the head's query group), max-pooled over `kernel` neighbouring positions
 * so a kept token keeps its neighbours' context, picks the `keep - window` older positions each
 * head keeps, plus the window itself. The paper compresses a long prompt once after prefill; here,
 * like the other policies, a sequence that reaches `budget` positions drops down to `keep` (default
 * half the budget; window a quarter of that), whenever that happens — during a long prompt fed in
 * chunks as well as while generating.
 */
export class SnapKV implements EvictionPolicy {
  readonly name = "snapkv";
  readonly observe: number;
  constructor(
    readonly budget: number,
    readonly keep = Math.floor(budget / 2),
    readonly window = Math.max(1, Math.floor(keep / 4)),
    readonly kernel = 7,
  ) {
    for (const [k, v] of Object.entries({ budget, keep, window, kernel }))
      if (!Number.isInteger(v) || v < 1)
        throw new InputError(`SnapKV ${k} must be a positive integer, got ${v}`);
    if (window > keep || keep >= budget)
      throw new InputError(
        `SnapKV needs window <= keep < budget (window ${window}, keep ${keep}, budget ${budget})`,
      );
    this.observe = window;
  }

  /** Run form for callers without observed queries: keeps the newest `keep` positions. */
  select(len: number): { from: number; count: number } {
    return { from: 0, count: Math.max(1, len - this.keep) };
  }

  selectPerHead(len: number, scores: Float64Array[][]): number[][][] {
    const keep = Math.min(this.keep, len - 1);
    const win = Math.min(this.window, keep);
    const nOld = len - win; // candidates [0, nOld)
    const half = Math.floor(this.kernel / 2);
    const pooled = new Float64Array(nOld);
    return scores.map((layer) =>
      layer.map((sc) => {
        for (let j = 0; j < nOld; j++) {
          let m = -Infinity;
          for (let i = Math.max(0, j - half); i <= Math.min(nOld - 1, j + half); i++)
            if (sc[i] > m) m = sc[i];
          pooled[j] = m;
        }
        const cand = Array.from({ length: nOld }, (_, j) => j);
        // Highest pooled attention first; ties keep the newer position.
        cand.sort((a, b) => pooled[b] - pooled[a] || b - a);
        const kept = cand.slice(0, keep - win);
        for (let j = nOld; j < len; j++) kept.push(j);
        return kept.sort((a, b) => a - b);
      }),
    );
  }
}

/** Policies selectable by name (the CLI's --kv-evict, the server's kv_eviction.policy). */
export const EVICTION_POLICIES = ["streaming", "h2o", "snapkv"] as const;
export type EvictionPolicyName = (typeof EVICTION_POLICIES)[number];

/**
 * A policy by name with a KV budget and each policy's default split: StreamingLLM (4 sinks, half
 * of the rest recent), H2O (a quarter heavy hitters, a quarter recent), SnapKV (keeps half, a
 * quarter of that the observation window). Throws InputError (field "policy" or "budget").
 */
export function evictionPolicy(policy: string, budget: number): EvictionPolicy {
  if (!(Number.isInteger(budget) && budget >= 8))
    throw new InputError(`the KV budget must be an integer >= 8, got ${budget}`, { field: "budget" });
  switch (policy as EvictionPolicyName) {
    case "streaming":
      return new StreamingLLM(budget);
    case "h2o":
      return new H2O(budget);
    case "snapkv":
      return new SnapKV(budget);
    default:
      throw new InputError(`unknown KV eviction policy '${policy}'; choose ${EVICTION_POLICIES.join(", ")}`, {
        field: "policy",
      });
  }
}
