/**
 * KV cache options shared by run/chat/serve/bench: `--kv-type` for K and V, llama.cpp's
 * `--cache-type-k` / `--cache-type-v` to set them separately (f32, f16, q8_0, q4_0), and
 * `--no-kv-rotate` to store quantized rows without the Hadamard rotation (kv/hadamard.ts; llama.cpp's
 * LLAMA_ATTN_ROT_DISABLE=1), and `--swa-full` (llama.cpp's) to keep full KV for sliding-window layers.
 */
import { parseKVType, type KVType } from "../kv/quant-kv.js";
import { InputError } from "../errors.js";
import { EVICTION_POLICIES, evictionPolicy, type EvictionPolicy } from "../kv/eviction.js";

export interface KVTypeCliOptions {
  kvType?: string;
  cacheTypeK?: string;
  cacheTypeV?: string;
  /** false with --no-kv-rotate (commander's default for a negated flag is true). */
  kvRotate?: boolean;
  /** --swa-full: full KV for sliding-window layers too. */
  swaFull?: boolean;
  /** --kv-evict <policy> with --kv-budget <n>: token eviction (kv/eviction.ts). */
  kvEvict?: string;
  kvBudget?: string;
}

export const KV_EVICT_FLAG = "--kv-evict <policy>";
export const KV_EVICT_HELP = `token eviction when a sequence reaches --kv-budget positions: ${EVICTION_POLICIES.join(", ")} (StreamingLLM, H2O, SnapKV)`;
export const KV_BUDGET_FLAG = "--kv-budget <n>";
export const KV_BUDGET_HELP = "KV positions a sequence keeps with --kv-evict (at most the context size)";

/** loadLLM's `eviction` from --kv-evict / --kv-budget (both or neither). */
export function evictionOption(o: KVTypeCliOptions): { eviction?: EvictionPolicy } {
  if (o.kvEvict === undefined && o.kvBudget === undefined) return {};
  if (o.kvEvict === undefined) throw new InputError("--kv-budget needs --kv-evict <policy>");
  if (o.kvBudget === undefined) throw new InputError("--kv-evict needs --kv-budget <n>");
  const budget = Number(o.kvBudget);
  if (!(/^\d+$/.test(o.kvBudget.trim()) && budget >= 8))
    throw new InputError(`--kv-budget must be an integer >= 8, got '${o.kvBudget}'`);
  try {
    return { eviction: evictionPolicy(o.kvEvict, budget) };
  } catch (e) {
    if (e instanceof InputError && e.context.field === "policy")
      throw new InputError(`--kv-evict must be one of ${EVICTION_POLICIES.join(", ")}, got '${o.kvEvict}'`);
    throw e;
  }
}

export const SWA_FULL_HELP =
  "keep every position's KV for sliding-window layers too (as llama.cpp's --swa-full); by default those layers keep only their window";

export const KV_ROTATE_HELP =
  "store quantized K/V rows unrotated (the Hadamard rotation is on by default for q8_0/q4_0 at head sizes divisible by 64, as in llama.cpp; this is its LLAMA_ATTN_ROT_DISABLE=1)";

/** Engine options { kvType, kvTypeV, kvRotate } from the CLI flags (undefined = engine default). */
export function kvTypeOptions(o: KVTypeCliOptions): {
  kvType?: KVType;
  kvTypeV?: KVType;
  kvRotate?: false;
  swaFull?: true;
} {
  const both = o.kvType === undefined ? undefined : parseKVType(o.kvType, "--kv-type");
  const k = o.cacheTypeK === undefined ? both : parseKVType(o.cacheTypeK, "--cache-type-k");
  // llama.cpp: -ctk alone leaves V at the default (f32 here).
  const v =
    o.cacheTypeV === undefined
      ? (both ?? (k ? "f32" : undefined))
      : parseKVType(o.cacheTypeV, "--cache-type-v");
  return {
    ...(k ? { kvType: k } : {}),
    ...(v ? { kvTypeV: v } : {}),
    ...(o.kvRotate === false ? { kvRotate: false as const } : {}),
    ...(o.swaFull ? { swaFull: true as const } : {}),
  };
}
