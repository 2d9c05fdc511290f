/**
 * KV cache type options shared by run/chat/serve/bench: `--kv-type` for K and V, and llama.cpp's
 * `--cache-type-k` / `--cache-type-v` to set them separately (f32, f16, q8_0, q4_0).
 */
import { parseKVType, type KVType } from "../kv/quant-kv.js";

export interface KVTypeCliOptions {
  kvType?: string;
  cacheTypeK?: string;
  cacheTypeV?: string;
}

/** Engine options { kvType, kvTypeV } from the CLI flags (undefined = engine default). */
export function kvTypeOptions(o: KVTypeCliOptions): { kvType?: KVType; kvTypeV?: KVType } {
  const both = o.kvType === undefined ? undefined : parseKVType(o.kvType, "--kv-type");
  const k = o.cacheTypeK === undefined ? both : parseKVType(o.cacheTypeK, "--cache-type-k");
  // llama.cpp: -ctk alone leaves V at the default (f32 here).
  const v =
    o.cacheTypeV === undefined
      ? (both ?? (k ? "f32" : undefined))
      : parseKVType(o.cacheTypeV, "--cache-type-v");
  return { ...(k ? { kvType: k } : {}), ...(v ? { kvTypeV: v } : {}) };
}
