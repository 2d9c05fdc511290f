/**
 * GGUF metadata value types (gguf.h `enum gguf_type`) and the JS shapes the reader produces and the
 * writer accepts. Shared by reader.ts and writer.ts so both agree on one representation.
 */

export enum GGUFValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export function isGGUFValueType(t: number): t is GGUFValueType {
  return Number.isInteger(t) && t >= GGUFValueType.UINT8 && t <= GGUFValueType.FLOAT64;
}

export function ggufValueTypeName(t: number): string {
  return isGGUFValueType(t) ? GGUFValueType[t] : `unknown(${t})`;
}

/** Bytes per scalar of a fixed-size type; undefined for STRING and ARRAY. */
export function ggufScalarSize(t: GGUFValueType): number | undefined {
  switch (t) {
    case GGUFValueType.UINT8:
    case GGUFValueType.INT8:
    case GGUFValueType.BOOL:
      return 1;
    case GGUFValueType.UINT16:
    case GGUFValueType.INT16:
      return 2;
    case GGUFValueType.UINT32:
    case GGUFValueType.INT32:
    case GGUFValueType.FLOAT32:
      return 4;
    case GGUFValueType.UINT64:
    case GGUFValueType.INT64:
    case GGUFValueType.FLOAT64:
      return 8;
    default:
      return undefined;
  }
}

/** Numeric arrays come back as the typed array matching the GGUF item type. */
export type GGUFNumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | BigUint64Array
  | BigInt64Array
  | Float64Array;

/**
 * One metadata value as JS:
 * - UINT8..INT32, FLOAT32, FLOAT64 -> number; UINT64/INT64 -> bigint; BOOL -> boolean; STRING -> string
 * - ARRAY<numeric> -> the matching typed array; ARRAY<STRING> -> string[]; ARRAY<BOOL> -> boolean[];
 *   ARRAY<ARRAY> -> a plain array of such arrays.
 * Plain arrays made by the reader carry their item type under GGUF_ITEM_TYPE so that an empty
 * string[] / boolean[] / nested array still writes back with its original item type.
 */
export type GGUFMetaValue = number | bigint | boolean | string | GGUFArrayValue;
export type GGUFArrayValue = GGUFNumericArray | string[] | boolean[] | GGUFArrayValue[];

/** Symbol under which plain arrays record their GGUF item type (set by the reader, read by the writer). */
export const GGUF_ITEM_TYPE: unique symbol = Symbol("gguf.itemType");

export type TaggedArray<T> = T[] & { [GGUF_ITEM_TYPE]?: GGUFValueType };

export function tagArray<T>(arr: T[], itemType: GGUFValueType): T[] {
  Object.defineProperty(arr, GGUF_ITEM_TYPE, { value: itemType, enumerable: false });
  return arr;
}

export function arrayTag(arr: unknown[]): GGUFValueType | undefined {
  return (arr as TaggedArray<unknown>)[GGUF_ITEM_TYPE];
}

/**
 * A value with an explicit GGUF type, for cases inference gets wrong: floats that look like
 * integers (`typed(GGUFValueType.FLOAT32, 10000)`), 64-bit or 8/16-bit ints, number[] arrays
 * (`typed(GGUFValueType.ARRAY, [1, 2], GGUFValueType.FLOAT32)`), empty arrays.
 */
export class GGUFTypedValue {
  constructor(
    readonly type: GGUFValueType,
    readonly value: GGUFMetaValue | number[] | bigint[],
    readonly itemType?: GGUFValueType,
  ) {}
}

export function typed(
  type: GGUFValueType,
  value: GGUFMetaValue | number[] | bigint[],
  itemType?: GGUFValueType,
): GGUFTypedValue {
  return new GGUFTypedValue(type, value, itemType);
}
