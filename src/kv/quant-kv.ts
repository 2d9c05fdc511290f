/**
 * KV cache row stores: the row formats and codecs are in quant/kv-rows.ts (F32, F16, Q8_0, Q4_0 as
 * llama.cpp's `--cache-type-k/-v` store them); this module allocates a layer's store, in a
 * KernelSet's memory when one is given so the WASM attention reads it in place.
 */
import type { KernelSet } from "../kernels/kernel-set.js";
import { kvRowElems, type KVStore, type KVType } from "../quant/kv-rows.js";

export * from "../quant/kv-rows.js";

/** A zeroed store of `rows` rows (in the KernelSet's memory when given). */
export function allocKVStore(t: KVType, rows: number, width: number, ks?: KernelSet): KVStore {
  const n = rows * kvRowElems(t, width);
  const bytes = t === "f32" ? 4 * n : t === "f16" ? 2 * n : n;
  if (!ks) return t === "f32" ? new Float32Array(n) : t === "f16" ? new Uint16Array(n) : new Uint8Array(n);
  const f = ks.alloc(Math.max(1, Math.ceil(bytes / 4)));
  if (t === "f32") return f.subarray(0, n);
  if (t === "f16") return new Uint16Array(f.buffer, f.byteOffset, n);
  return new Uint8Array(f.buffer, f.byteOffset, n);
}
