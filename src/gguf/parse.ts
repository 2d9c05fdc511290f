/**
 * The GGUF header parser shared by the file reader and the in-memory reader: magic, version,
 * metadata key/values and tensor infos, fully validated. It never touches tensor data.
 *
 * Layout (gguf.cpp, GGUF v2/v3, little-endian):
 *   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv x { string key | u32 type | value }
 *   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
 *   padding to `general.alignment` | data section (tensor offsets are relative to its start)
 */
import { type GGMLType, ggmlTypeName, ggmlTypeTraits, isKnownGGMLType } from "./types.js";
import type { Cursor } from "./cursor.js";
import {
  GGUFValueType,
  ggufScalarSize,
  ggufValueTypeName,
  isGGUFValueType,
  tagArray,
  type GGUFArrayValue,
  type GGUFMetaValue,
} from "./value.js";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
export const GGUF_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME: tensor names must be shorter than this many bytes. */
export const GGUF_MAX_TENSOR_NAME = 64;
/** Nesting limit for ARRAY<ARRAY<...>>, so a hostile file cannot exhaust the stack. */
const MAX_ARRAY_DEPTH = 8;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextEncoder();

export interface GGUFTensorInfo {
  name: string;
  /** ne[0] first, as ggml: dims[0] is the contiguous (row) dimension. */
  dims: number[];
  type: GGMLType;
  /** Byte offset relative to the start of the data section. */
  offset: number;
  nElements: number;
  nBytes: number;
}

export interface GGUFHeader {
  version: number;
  alignment: number;
  /** Absolute file offset of the data section. */
  dataOffset: number;
  metadata: Map<string, GGUFMetaValue>;
  metadataTypes: Map<string, GGUFValueType>;
  /** Item type of every ARRAY-typed key. */
  metadataItemTypes: Map<string, GGUFValueType>;
  tensors: GGUFTensorInfo[];
}

export function parseHeader(c: Cursor): GGUFHeader {
  const magic = c.u32("magic");
  if (magic !== GGUF_MAGIC) {
    c.fail(
      `bad magic 0x${magic.toString(16).padStart(8, "0")}, expected "GGUF"`,
      "magic",
      0,
      "not a GGUF file",
    );
  }
  const version = c.u32("version");
  if ((version & 0xffff) === 0 && version !== 0) {
    c.fail(`version ${version} looks byte-swapped`, "version", 4, "big-endian GGUF files are not supported");
  }
  if (version === 1)
    c.fail("unsupported version 1 (GGUFv1)", "version", 4, "re-convert the model with a current llama.cpp");
  if (version !== 2 && version !== 3)
    c.fail(`unsupported version ${version}`, "version", 4, "supported: 2 and 3");

  const nTensorsAt = c.pos;
  const nTensorsRaw = c.u64("n_tensors");
  const nKvAt = c.pos;
  const nKvRaw = c.u64("n_kv");
  // Smallest possible kv: 8-byte key length + 1-byte key + 4-byte type + 1-byte value.
  const nKv = c.checkCount(nKvRaw, 14, "n_kv", nKvAt);
  // Smallest possible tensor info: 8 + 1 name, 4 n_dims, 4 type, 8 offset.
  const nTensors = c.checkCount(nTensorsRaw, 25, "n_tensors", nTensorsAt);

  const metadata = new Map<string, GGUFMetaValue>();
  const metadataTypes = new Map<string, GGUFValueType>();
  const metadataItemTypes = new Map<string, GGUFValueType>();
  for (let i = 0; i < nKv; i++) {
    const keyAt = c.pos;
    const key = c.string(`kv[${i}].key`);
    if (key.length === 0) c.fail(`metadata key ${i} is empty`, `kv[${i}].key`, keyAt);
    if (metadata.has(key)) c.fail(`duplicate metadata key '${key}'`, key, keyAt);
    const typeAt = c.pos;
    const type = c.u32(key);
    if (!isGGUFValueType(type)) c.fail(`unknown metadata value type ${type}`, key, typeAt);
    if (type === GGUFValueType.ARRAY) {
      const { value, itemType } = readArray(c, key, 1);
      metadataItemTypes.set(key, itemType);
      metadata.set(key, value);
    } else {
      metadata.set(key, readScalar(c, type, key));
    }
    metadataTypes.set(key, type);
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (metadata.has("general.alignment")) {
    if (metadataTypes.get("general.alignment") !== GGUFValueType.UINT32) {
      c.fail(
        `general.alignment must be UINT32, got ${ggufValueTypeName(metadataTypes.get("general.alignment")!)}`,
        "general.alignment",
      );
    }
    alignment = metadata.get("general.alignment") as number;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
      c.fail(`general.alignment ${alignment} is not a power of two`, "general.alignment");
    }
  }

  const tensors: GGUFTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) tensors.push(readTensorInfo(c, i, names));

  // ggml pads to the alignment only when there are tensors (gguf.cpp).
  const dataOffset = nTensors > 0 ? alignUp(c.pos, alignment) : c.pos;
  if (nTensors > 0 && dataOffset > c.fileSize) {
    c.fail(
      `truncated file: data section starts at ${dataOffset} beyond end of file ${c.fileSize}`,
      "data section",
    );
  }
  checkTensorPlacement(c, tensors, alignment, dataOffset);
  return { version, alignment, dataOffset, metadata, metadataTypes, metadataItemTypes, tensors };
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function readScalar(c: Cursor, type: GGUFValueType, field: string): GGUFMetaValue {
  switch (type) {
    case GGUFValueType.UINT8:
      return c.u8(field);
    case GGUFValueType.INT8:
      return c.i8(field);
    case GGUFValueType.UINT16:
      return c.u16(field);
    case GGUFValueType.INT16:
      return c.i16(field);
    case GGUFValueType.UINT32:
      return c.u32(field);
    case GGUFValueType.INT32:
      return c.i32(field);
    case GGUFValueType.FLOAT32:
      return c.f32(field);
    case GGUFValueType.BOOL:
      return c.u8(field) !== 0;
    case GGUFValueType.STRING:
      return c.string(field);
    case GGUFValueType.UINT64:
      return c.u64(field);
    case GGUFValueType.INT64:
      return c.i64(field);
    case GGUFValueType.FLOAT64:
      return c.f64(field);
    default:
      return c.fail(`value type ${ggufValueTypeName(type)} is not a scalar`, field);
  }
}

function readArray(
  c: Cursor,
  field: string,
  depth: number,
): { value: GGUFArrayValue; itemType: GGUFValueType } {
  if (depth > MAX_ARRAY_DEPTH) c.fail(`arrays nested deeper than ${MAX_ARRAY_DEPTH}`, field);
  const typeAt = c.pos;
  const itemType = c.u32(field);
  if (!isGGUFValueType(itemType)) c.fail(`unknown array item type ${itemType}`, field, typeAt);
  const countAt = c.pos;
  const countRaw = c.u64(field);
  const size = ggufScalarSize(itemType);
  if (size !== undefined) {
    const n = c.checkCount(countRaw, size, field, countAt);
    const bytes = c.bytes(n * size, field);
    return { value: numericArray(itemType, bytes, n), itemType };
  }
  if (itemType === GGUFValueType.STRING) {
    const n = c.checkCount(countRaw, 8, field, countAt);
    const out: string[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = c.string(field, i);
    return { value: tagArray(out, itemType), itemType };
  }
  // ARRAY of ARRAY: each item carries its own item type and count (12 bytes at least).
  const n = c.checkCount(countRaw, 12, field, countAt);
  const out: GGUFArrayValue[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = readArray(c, `${field}[${i}]`, depth + 1).value;
  return { value: tagArray(out, itemType), itemType };
}

/** `bytes` is a fresh, 0-offset copy, so typed-array views over it are aligned. Host is little-endian. */
function numericArray(t: GGUFValueType, bytes: Uint8Array, n: number): GGUFArrayValue {
  const b = bytes.buffer;
  switch (t) {
    case GGUFValueType.UINT8:
      return bytes;
    case GGUFValueType.INT8:
      return new Int8Array(b, 0, n);
    case GGUFValueType.UINT16:
      return new Uint16Array(b, 0, n);
    case GGUFValueType.INT16:
      return new Int16Array(b, 0, n);
    case GGUFValueType.UINT32:
      return new Uint32Array(b, 0, n);
    case GGUFValueType.INT32:
      return new Int32Array(b, 0, n);
    case GGUFValueType.FLOAT32:
      return new Float32Array(b, 0, n);
    case GGUFValueType.UINT64:
      return new BigUint64Array(b, 0, n);
    case GGUFValueType.INT64:
      return new BigInt64Array(b, 0, n);
    case GGUFValueType.FLOAT64:
      return new Float64Array(b, 0, n);
    case GGUFValueType.BOOL: {
      const out: boolean[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i] !== 0;
      return tagArray(out, t);
    }
    default:
      throw new RangeError(`not a numeric GGUF type: ${t}`);
  }
}

function readTensorInfo(c: Cursor, i: number, names: Set<string>): GGUFTensorInfo {
  const nameAt = c.pos;
  const name = c.string(`tensor[${i}].name`);
  const f = `tensor '${name}'`;
  if (name.length === 0) c.fail(`tensor ${i} has an empty name`, `tensor[${i}].name`, nameAt);
  if (utf8.encode(name).length >= GGUF_MAX_TENSOR_NAME) {
    c.fail(`tensor name longer than ${GGUF_MAX_TENSOR_NAME - 1} bytes`, f, nameAt);
  }
  if (names.has(name)) c.fail(`duplicate tensor name '${name}'`, f, nameAt);
  names.add(name);

  const nDimsAt = c.pos;
  const nDims = c.u32(`${f}.n_dims`);
  if (nDims > GGUF_MAX_DIMS) c.fail(`n_dims ${nDims} > ${GGUF_MAX_DIMS}`, `${f}.n_dims`, nDimsAt);
  const dims: number[] = [];
  let nElements = 1n;
  for (let d = 0; d < nDims; d++) {
    const at = c.pos;
    const ne = c.u64(`${f}.dims[${d}]`);
    if (ne > MAX_SAFE) c.fail(`dimension ${d} = ${ne} is out of range`, `${f}.dims[${d}]`, at);
    nElements *= ne;
    if (nElements > MAX_SAFE) c.fail(`element count overflows 2^53`, `${f}.dims`, at);
    dims.push(Number(ne));
  }
  const typeAt = c.pos;
  const type = c.u32(`${f}.type`);
  if (!isKnownGGMLType(type)) c.fail(`unknown ggml type ${type}`, `${f}.type`, typeAt);
  const tr = ggmlTypeTraits(type);
  const ne0 = dims.length > 0 ? dims[0]! : 1;
  if (ne0 % tr.blockSize !== 0) {
    c.fail(
      `row length ${ne0} is not a multiple of the ${ggmlTypeName(type)} block size ${tr.blockSize}`,
      `${f}.dims[0]`,
      typeAt,
    );
  }
  const nBytes = (nElements / BigInt(tr.blockSize)) * BigInt(tr.typeSize);
  if (nBytes > MAX_SAFE) c.fail(`byte size overflows 2^53`, `${f}.type`, typeAt);
  const offAt = c.pos;
  const offset = c.u64(`${f}.offset`);
  if (offset > MAX_SAFE) c.fail(`offset ${offset} is out of range`, `${f}.offset`, offAt);
  return { name, dims, type, offset: Number(offset), nElements: Number(nElements), nBytes: Number(nBytes) };
}

/** Tensors must be aligned, inside the file and must not overlap (any order, gaps allowed). */
function checkTensorPlacement(
  c: Cursor,
  tensors: GGUFTensorInfo[],
  alignment: number,
  dataOffset: number,
): void {
  for (const t of tensors) {
    if (t.offset % alignment !== 0) {
      c.fail(
        `tensor offset ${t.offset} is not a multiple of the alignment ${alignment}`,
        `tensor '${t.name}'.offset`,
        dataOffset + t.offset,
      );
    }
    if (t.offset + t.nBytes > c.fileSize - dataOffset) {
      c.fail(
        `tensor data [${dataOffset + t.offset}, ${dataOffset + t.offset + t.nBytes}) extends beyond end of file ${c.fileSize}`,
        `tensor '${t.name}'`,
        dataOffset + t.offset,
        "the file is truncated or the tensor info is corrupt",
      );
    }
  }
  const sorted = tensors.filter((t) => t.nBytes > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.offset < prev.offset + prev.nBytes) {
      c.fail(
        `tensor '${cur.name}' overlaps tensor '${prev.name}'`,
        `tensor '${cur.name}'`,
        dataOffset + cur.offset,
      );
    }
  }
}
