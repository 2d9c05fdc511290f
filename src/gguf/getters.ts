/**
 * Typed access to GGUF metadata. Each getter throws a GGUFError naming the key when the key is
 * missing (required variants) or holds the wrong kind of value; the `opt*` variants return
 * undefined for a missing key but still reject a wrong type.
 */
import { GGUFError } from "../errors.js";
import type { GGUFArrayValue, GGUFMetaValue } from "./value.js";

export type Metadata = ReadonlyMap<string, GGUFMetaValue>;

/** Metadata as a caller may hold it: the reader's Map, or a plain record (converted HF tokenizers, tests). */
export type MetadataLike = Metadata | Readonly<Record<string, unknown>>;

/** Read one key from either form. */
export function mdGet(md: MetadataLike, key: string): unknown {
  return md instanceof Map ? md.get(key) : (md as Readonly<Record<string, unknown>>)[key];
}

function missing(key: string): never {
  throw new GGUFError(`missing metadata key '${key}'`, { field: key });
}

function wrong(key: string, want: string, v: GGUFMetaValue): never {
  const got = Array.isArray(v) || ArrayBuffer.isView(v) ? "array" : typeof v;
  throw new GGUFError(`metadata key '${key}' should be ${want}, got ${got}`, { field: key });
}

export function optString(md: Metadata, key: string): string | undefined {
  const v = md.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== "string") wrong(key, "a string", v);
  return v;
}
export function getString(md: Metadata, key: string): string {
  return optString(md, key) ?? missing(key);
}

/** Any numeric scalar (8..64-bit ints, floats); 64-bit values must fit in a safe integer. */
export function optNumber(md: Metadata, key: string): number | undefined {
  const v = md.get(key);
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new GGUFError(`metadata key '${key}' value ${v} does not fit in a JS number`, { field: key });
    }
    return Number(v);
  }
  return wrong(key, "a number", v);
}
export function getNumber(md: Metadata, key: string): number {
  return optNumber(md, key) ?? missing(key);
}

/** A non-negative integer below 2^32 (any integer GGUF type is accepted, as llama.cpp's loader does). */
export function optU32(md: Metadata, key: string): number | undefined {
  const n = optNumber(md, key);
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new GGUFError(`metadata key '${key}' should be an unsigned 32-bit integer, got ${n}`, {
      field: key,
    });
  }
  return n;
}
export function getU32(md: Metadata, key: string): number {
  return optU32(md, key) ?? missing(key);
}

export function optBool(md: Metadata, key: string): boolean | undefined {
  const v = md.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") wrong(key, "a boolean", v);
  return v;
}
export function getBool(md: Metadata, key: string): boolean {
  return optBool(md, key) ?? missing(key);
}

export function optArray(md: Metadata, key: string): GGUFArrayValue | undefined {
  const v = md.get(key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) wrong(key, "an array", v);
  return v as GGUFArrayValue;
}
export function getArray(md: Metadata, key: string): GGUFArrayValue {
  return optArray(md, key) ?? missing(key);
}

export function optStringArray(md: Metadata, key: string): string[] | undefined {
  const v = optArray(md, key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) wrong(key, "an array of strings", v);
  return v as string[];
}
export function getStringArray(md: Metadata, key: string): string[] {
  return optStringArray(md, key) ?? missing(key);
}
