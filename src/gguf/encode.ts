/**
 * Metadata encoding for the writer: JS value -> (GGUF type, bytes). Inference rules are in
 * `inferType`; anything ambiguous needs `typed(...)`.
 */
import { GGUFError } from "../errors.js";
import { GGUFTypedValue, GGUFValueType, arrayTag, ggufValueTypeName, type GGUFMetaValue } from "./value.js";

/** Growable little-endian byte buffer for the (small) header. */
export class ByteSink {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.view.setUint8(this.length++, v);
  }
  i8(v: number): void {
    this.reserve(1);
    this.view.setInt8(this.length++, v);
  }
  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  i16(v: number): void {
    this.reserve(2);
    this.view.setInt16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  u64(v: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, v, true);
    this.length += 8;
  }
  i64(v: bigint): void {
    this.reserve(8);
    this.view.setBigInt64(this.length, v, true);
    this.length += 8;
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  /** u64 byte length + UTF-8 bytes, encoded in place. */
  string(s: string): void {
    this.reserve(8 + 3 * s.length);
    const { written } = utf8.encodeInto(s, this.buf.subarray(this.length + 8));
    this.view.setUint32(this.length, written, true);
    this.view.setUint32(this.length + 4, 0, true);
    this.length += 8 + written;
  }
  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const utf8 = new TextEncoder();

type Raw = GGUFMetaValue | number[] | bigint[];

/** A metadata entry with its resolved GGUF type; `itemType` set for ARRAY. */
export interface ResolvedValue {
  type: GGUFValueType;
  itemType?: GGUFValueType;
  value: Raw;
}

export function resolveValue(key: string, v: GGUFMetaValue | GGUFTypedValue): ResolvedValue {
  if (v instanceof GGUFTypedValue) {
    if (v.type === GGUFValueType.ARRAY) {
      const itemType = v.itemType ?? inferArrayItemType(key, v.value);
      return { type: v.type, itemType, value: v.value };
    }
    return { type: v.type, value: v.value };
  }
  const type = inferType(key, v);
  return type === GGUFValueType.ARRAY
    ? { type, itemType: inferArrayItemType(key, v), value: v }
    : { type, value: v };
}

/**
 * string -> STRING, boolean -> BOOL, integer number -> UINT32 if >= 0 else INT32 (outside 32 bits:
 * error, use typed/bigint), other number -> FLOAT32, bigint -> UINT64 if >= 0 else INT64,
 * arrays -> ARRAY.
 */
function inferType(key: string, v: Raw): GGUFValueType {
  switch (typeof v) {
    case "string":
      return GGUFValueType.STRING;
    case "boolean":
      return GGUFValueType.BOOL;
    case "bigint":
      return v >= 0n ? GGUFValueType.UINT64 : GGUFValueType.INT64;
    case "number":
      if (!Number.isInteger(v)) return GGUFValueType.FLOAT32;
      if (v >= 0 && v <= 0xffffffff) return GGUFValueType.UINT32;
      if (v < 0 && v >= -0x80000000) return GGUFValueType.INT32;
      return bad(
        key,
        `integer ${v} does not fit in 32 bits`,
        "pass a bigint or typed(GGUFValueType.UINT64, ...)",
      );
    default:
      if (Array.isArray(v) || ArrayBuffer.isView(v)) return GGUFValueType.ARRAY;
      return bad(key, `cannot store a value of type ${typeof v}`);
  }
}

function inferArrayItemType(key: string, v: Raw): GGUFValueType {
  if (v instanceof Uint8Array) return GGUFValueType.UINT8;
  if (v instanceof Int8Array) return GGUFValueType.INT8;
  if (v instanceof Uint16Array) return GGUFValueType.UINT16;
  if (v instanceof Int16Array) return GGUFValueType.INT16;
  if (v instanceof Uint32Array) return GGUFValueType.UINT32;
  if (v instanceof Int32Array) return GGUFValueType.INT32;
  if (v instanceof Float32Array) return GGUFValueType.FLOAT32;
  if (v instanceof BigUint64Array) return GGUFValueType.UINT64;
  if (v instanceof BigInt64Array) return GGUFValueType.INT64;
  if (v instanceof Float64Array) return GGUFValueType.FLOAT64;
  if (!Array.isArray(v)) return bad(key, "value is not an array");
  const tag = arrayTag(v);
  if (tag !== undefined) return tag;
  if (v.length === 0)
    return bad(
      key,
      "cannot infer the item type of an empty array",
      "use typed(GGUFValueType.ARRAY, [], itemType)",
    );
  const first = v[0];
  if (typeof first === "string") return GGUFValueType.STRING;
  if (typeof first === "boolean") return GGUFValueType.BOOL;
  if (Array.isArray(first) || ArrayBuffer.isView(first)) return GGUFValueType.ARRAY;
  return bad(
    key,
    `cannot infer the item type of an array of ${typeof first}`,
    "use a typed array (Float32Array, Int32Array...) or typed(GGUFValueType.ARRAY, values, itemType)",
  );
}

function bad(key: string, message: string, hint?: string): never {
  throw new GGUFError(message, { field: key, hint });
}

/** Append `v` (of `type`) to the sink; range-checks every number. */
export function encodeValue(
  s: ByteSink,
  key: string,
  type: GGUFValueType,
  v: Raw,
  itemType?: GGUFValueType,
): void {
  if (type === GGUFValueType.ARRAY) {
    const it = itemType ?? inferArrayItemType(key, v);
    encodeArray(s, key, it, v);
    return;
  }
  encodeScalar(s, key, type, v);
}

function encodeArray(s: ByteSink, key: string, itemType: GGUFValueType, v: Raw): void {
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) bad(key, `ARRAY value is not an array`);
  const items = v as ArrayLike<unknown>;
  s.u32(itemType);
  s.u64(BigInt(items.length));
  for (let i = 0; i < items.length; i++) {
    const x = items[i] as Raw;
    if (itemType === GGUFValueType.ARRAY) {
      // Each nested array carries its own item type and count.
      encodeArray(s, `${key}[${i}]`, inferArrayItemType(`${key}[${i}]`, x), x);
    } else {
      encodeScalar(s, key, itemType, x, i);
    }
  }
}

function encodeScalar(s: ByteSink, key: string, type: GGUFValueType, v: Raw, index = -1): void {
  switch (type) {
    case GGUFValueType.UINT8:
      return s.u8(int(key, index, type, v, 0, 0xff));
    case GGUFValueType.INT8:
      return s.i8(int(key, index, type, v, -0x80, 0x7f));
    case GGUFValueType.UINT16:
      return s.u16(int(key, index, type, v, 0, 0xffff));
    case GGUFValueType.INT16:
      return s.i16(int(key, index, type, v, -0x8000, 0x7fff));
    case GGUFValueType.UINT32:
      return s.u32(int(key, index, type, v, 0, 0xffffffff));
    case GGUFValueType.INT32:
      return s.i32(int(key, index, type, v, -0x80000000, 0x7fffffff));
    case GGUFValueType.FLOAT32:
      if (typeof v !== "number") invalid(key, index, type, v);
      return s.f32(v);
    case GGUFValueType.FLOAT64:
      if (typeof v !== "number") invalid(key, index, type, v);
      return s.f64(v);
    case GGUFValueType.BOOL:
      if (typeof v !== "boolean") invalid(key, index, type, v);
      return s.u8(v ? 1 : 0);
    case GGUFValueType.STRING:
      if (typeof v !== "string") invalid(key, index, type, v);
      return s.string(v);
    case GGUFValueType.UINT64:
      return s.u64(big(key, index, type, v, 0n, (1n << 64n) - 1n));
    case GGUFValueType.INT64:
      return s.i64(big(key, index, type, v, -(1n << 63n), (1n << 63n) - 1n));
    default:
      bad(key, `cannot encode a scalar of type ${ggufValueTypeName(type)}`);
  }
}

/** `index` >= 0 names an array item; the name is only built when the value is rejected. */
function invalid(key: string, index: number, type: GGUFValueType, v: unknown): never {
  const name = index >= 0 ? `${key}[${index}]` : key;
  return bad(
    name,
    `${typeof v === "string" ? JSON.stringify(v) : String(v)} is not a valid ${ggufValueTypeName(type)}`,
  );
}

function int(key: string, index: number, type: GGUFValueType, v: Raw, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) invalid(key, index, type, v);
  return v;
}

function big(key: string, index: number, type: GGUFValueType, v: Raw, lo: bigint, hi: bigint): bigint {
  const b =
    typeof v === "bigint" ? v : typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v) : undefined;
  if (b === undefined || b < lo || b > hi) invalid(key, index, type, v);
  return b;
}
