/**
 * What one side of `edgellm bench` measures, and how a result looks. Both sides get the same
 * prompt ids (deterministic, spread over the vocabulary, specials avoided) and the same phases:
 *   warm-up   8 prompt tokens then 2 decode steps (JIT tier-up, first-touch page faults)
 *   pp        the whole prompt evaluated as one batch, no token generated       -> pp tok/s
 *   ttft      a fresh sequence: prompt evaluated + first greedy token chosen     -> TTFT ms
 *   decode    gen - 1 further greedy tokens, one forward each, timed after the first -> tok/s
 * Each side runs in its own child process so its peak RSS (getrusage maxrss) is its own.
 */
import type { PhaseProfile } from "./profile.js";

export interface Workload {
  model: string;
  threads: number;
  prompt: number;
  gen: number;
  /** Vocabulary size (from the file's token_embd), so both sides draw the same prompt ids. */
  nVocab: number;
  /** KV cache types of both sides (default: each side's own, f32 here, f16 in llama.cpp). */
  kvType?: KVType;
  kvTypeV?: KVType;
  /** false: quantized K/V stored unrotated on both sides (--no-kv-rotate). */
  kvRotate?: false;
  /** LoRA adapters (`file[:scale]`, as --lora) applied on both sides. */
  lora?: string[];
  /** edgellm: where MoE experts live (--experts) and the memory budget (--max-memory, bytes). */
  experts?: ExpertPlacement;
  /** edgellm: where a dense model's layer weights live (--weights: resident, stream, auto). */
  weights?: WeightPlacement;
  /** edgellm: the prepared-layout cache of streamed layers (--stream-cache). */
  streamCache?: string;
  maxMemory?: number;
  /** edgellm: speculative decoding for the timed runs (--lookup, --draft-layers K, or --draft with a draft model). */
  speculative?: SpeculativeOptions;
  draft?: string;
}

import type { KVType } from "../../kv/quant-kv.js";
import type { ExpertPlacement, WeightPlacement } from "../../model/index.js";
import type { SpeculativeOptions } from "../../engine/speculative.js";

export interface SideResult {
  side: "edgellm" | "llama.cpp";
  loadMs: number;
  ppTokS: number;
  ttftMs: number;
  decodeTokS: number;
  /** Resident set after loading, and the process's peak, in bytes. */
  rssLoaded: number;
  /** KV cache bytes per token (all layers, K and V), when the side reports it. */
  kvBytesPerToken?: number;
  rssPeak: number;
  /** The greedy tokens generated (agreement check between sides). */
  tokens: number[];
  /** Free-form notes on the configuration (KV type, flash attention...). */
  config: string;
  /**
   * edgellm with experts on demand: the expert cache over the timed generation (prompt + decode):
   * hits, misses, file bytes read, and the tokens they cover.
   */
  experts?: { hits: number; misses: number; bytesRead: number; tokens: number; slots: number };
  /**
   * edgellm with streamed layers: the layer stream over the timed generation (prompt + decode):
   * layers loaded, file bytes read, ms blocked on reads and repacking, the run's wall ms, tokens.
   */
  stream?: {
    loads: number;
    bytesRead: number;
    readMs: number;
    repackMs: number;
    wallMs: number;
    tokens: number;
    slots: number;
    pinned: number;
  };
  /** edgellm with speculative decoding: drafts verified and accepted, forward steps, in the timed run. */
  speculative?: { drafted: number; accepted: number; steps: number; draftForwards?: number };
  /** edgellm with --profile: per-op times of a profiled run (see profile.ts). */
  profile?: { prefill: PhaseProfile; decode: PhaseProfile };
}

/** Prompt ids: deterministic, inside [lo, nVocab - 1), away from the low ids where specials live. */
export function promptIds(n: number, nVocab: number): number[] {
  const lo = Math.min(300, Math.floor(nVocab / 4));
  const span = nVocab - 1 - lo;
  return Array.from({ length: n }, (_, i) => lo + ((i * 7919 + 13) % span));
}

export function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
}

/** Peak resident set of this process in bytes (getrusage reports KiB on Linux). */
export function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}
