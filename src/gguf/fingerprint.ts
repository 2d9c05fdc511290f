/**
 * A model file's fingerprint for saved sessions and persistent prefix caches: hash64 of the
 * tensor infos (name, type, dims, offset), the scalar metadata and the length of every array,
 * and a sample of every tensor's bytes (first and last 256), so two files differing in shape,
 * hyper-parameters or weights (same shapes, other training run) differ. Not cryptographic: it
 * guards against loading a session into the wrong model, not against forgery.
 */
import { hash64 } from "../hash.js";
import type { GGUFMetaValue } from "./value.js";
import type { GGUFTensorInfo } from "./parse.js";

const SAMPLE = 256;

export function modelFingerprint(
  metadata: Map<string, GGUFMetaValue>,
  tensors: readonly GGUFTensorInfo[],
  bytesOf: (t: GGUFTensorInfo) => Uint8Array,
): string {
  const parts: string[] = [];
  for (const [k, v] of [...metadata].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (typeof v === "object" && v !== null && "length" in v) parts.push(`${k}=[${v.length}]`);
    else parts.push(`${k}=${String(v)}`);
  }
  for (const t of tensors) {
    const b = bytesOf(t);
    const head = b.subarray(0, SAMPLE);
    const tail = b.subarray(Math.max(0, b.length - SAMPLE));
    parts.push(
      `${t.name}:${t.type}:${t.dims.join("x")}@${t.offset}:${String.fromCharCode(...head)}${String.fromCharCode(...tail)}`,
    );
  }
  const s = parts.join("\n");
  // Two independent 64-bit hashes (the second over the reversed string) make 128 bits.
  return hash64(s) + hash64([...s].reverse().join(""));
}

/**
 * The part of a tensor's bytes the fingerprint reads (first and last SAMPLE bytes), copied, so a
 * streamed load can drop the tensor and fingerprint later with the same result.
 */
export function fingerprintSample(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= 2 * SAMPLE) return bytes.slice();
  const out = new Uint8Array(2 * SAMPLE);
  out.set(bytes.subarray(0, SAMPLE));
  out.set(bytes.subarray(bytes.length - SAMPLE), SAMPLE);
  return out;
}
