/**
 * GGUF reader: `openGGUF(path | URL | Blob | ByteSource)` for files of any size (header read in
 * growing chunks through a ByteSource, tensor data read lazily per tensor) and `parseGGUF(bytes)` for bytes already in
 * memory (browsers, fuzzer). Both share parse.ts, so they accept and reject exactly the same files.
 */
import { GGUFError } from "../errors.js";
import { openByteSource, type ByteSource, type GGUFInput } from "./byte-source.js";
import { Cursor, NeedMoreBytes } from "./cursor.js";
import { parseHeader, type GGUFHeader, type GGUFTensorInfo } from "./parse.js";
import { splitPartNames } from "./split-name.js";

export { splitPartNames } from "./split-name.js";
import type { GGUFValueType } from "./value.js";
import type { GGUFMetaValue } from "./value.js";

export { GGUFValueType, typed, GGUFTypedValue, GGUF_ITEM_TYPE } from "./value.js";
export type { GGUFMetaValue, GGUFArrayValue, GGUFNumericArray } from "./value.js";
export type { GGUFTensorInfo } from "./parse.js";
export { GGUF_DEFAULT_ALIGNMENT } from "./parse.js";
export {
  blobSource,
  httpSource,
  memorySource,
  fileSource,
  type ByteSource,
  type GGUFInput,
} from "./byte-source.js";

export interface GGUFFile {
  /** File path, or "<memory>" for parseGGUF. */
  path: string;
  version: number;
  fileSize: number;
  alignment: number;
  /** Absolute offset of the data section; a tensor's bytes start at dataOffset + info.offset. */
  dataOffset: number;
  metadata: Map<string, GGUFMetaValue>;
  metadataTypes: Map<string, GGUFValueType>;
  /** Item type of each ARRAY-typed key (absent for scalars). */
  metadataItemTypes: Map<string, GGUFValueType>;
  tensors: GGUFTensorInfo[];
  tensorByName(name: string): GGUFTensorInfo | undefined;
  /** Exactly the tensor's bytes (nBytes), read lazily. */
  readTensor(t: GGUFTensorInfo | string): Promise<Uint8Array>;
  readTensorSync(t: GGUFTensorInfo | string): Uint8Array;
  /** `length` bytes of the tensor from byte `start` of its data (loading in row chunks). */
  readTensorRange(t: GGUFTensorInfo | string, start: number, length: number): Promise<Uint8Array>;
  readTensorRangeSync(t: GGUFTensorInfo | string, start: number, length: number): Uint8Array;
  /**
   * Where a tensor's bytes are: the local file path of its part (Node files; absent otherwise) and
   * the absolute offset in it, so another thread can read them itself. Absent: in memory.
   */
  locate?(t: GGUFTensorInfo | string): { filePath: string | undefined; offset: number };
  close(): Promise<void>;
}

/** First header read; doubled until the header fits. */
const INITIAL_CHUNK = 1 << 20;
/** A header (metadata + tensor infos) above this is refused rather than loaded into one buffer. */
export const MAX_HEADER_BYTES = 1 << 30;
const MEMORY_PATH = "<memory>";

abstract class GGUFFileBase implements GGUFFile {
  readonly version: number;
  readonly alignment: number;
  readonly dataOffset: number;
  readonly metadata: Map<string, GGUFMetaValue>;
  readonly metadataTypes: Map<string, GGUFValueType>;
  readonly metadataItemTypes: Map<string, GGUFValueType>;
  readonly tensors: GGUFTensorInfo[];
  private readonly byName: Map<string, GGUFTensorInfo>;

  constructor(
    readonly path: string,
    readonly fileSize: number,
    h: GGUFHeader,
  ) {
    this.version = h.version;
    this.alignment = h.alignment;
    this.dataOffset = h.dataOffset;
    this.metadata = h.metadata;
    this.metadataTypes = h.metadataTypes;
    this.metadataItemTypes = h.metadataItemTypes;
    this.tensors = h.tensors;
    this.byName = new Map(h.tensors.map((t) => [t.name, t]));
  }

  tensorByName(name: string): GGUFTensorInfo | undefined {
    return this.byName.get(name);
  }

  protected resolve(t: GGUFTensorInfo | string): GGUFTensorInfo {
    const info = typeof t === "string" ? this.byName.get(t) : t;
    if (!info || this.byName.get(info.name) !== info) {
      const name = typeof t === "string" ? t : t.name;
      throw new GGUFError(`no tensor named '${name}' in this file`, { file: this.path, field: name });
    }
    return info;
  }

  /** The tensor and the checked byte range [start, start + length) of its data. */
  protected within(t: GGUFTensorInfo | string, start: number, length: number): GGUFTensorInfo {
    const info = this.resolve(t);
    if (!(Number.isInteger(start) && Number.isInteger(length) && start >= 0 && length >= 0))
      throw new GGUFError(`bad byte range ${start}+${length}`, { file: this.path, field: info.name });
    if (start + length > info.nBytes)
      throw new GGUFError(`byte range ${start}+${length} is past the tensor's ${info.nBytes} bytes`, {
        file: this.path,
        field: info.name,
      });
    return info;
  }

  abstract readTensor(t: GGUFTensorInfo | string): Promise<Uint8Array>;
  abstract readTensorSync(t: GGUFTensorInfo | string): Uint8Array;
  abstract readTensorRange(t: GGUFTensorInfo | string, start: number, length: number): Promise<Uint8Array>;
  abstract readTensorRangeSync(t: GGUFTensorInfo | string, start: number, length: number): Uint8Array;
  abstract close(): Promise<void>;
}

class MemoryGGUFFile extends GGUFFileBase {
  constructor(
    private readonly bytes: Uint8Array,
    path: string,
    h: GGUFHeader,
  ) {
    super(path, bytes.length, h);
  }
  /** A view into the parsed bytes (no copy). */
  readTensorSync(t: GGUFTensorInfo | string): Uint8Array {
    const info = this.resolve(t);
    const start = this.dataOffset + info.offset;
    return this.bytes.subarray(start, start + info.nBytes);
  }
  async readTensor(t: GGUFTensorInfo | string): Promise<Uint8Array> {
    return this.readTensorSync(t);
  }
  readTensorRangeSync(t: GGUFTensorInfo | string, start: number, length: number): Uint8Array {
    const info = this.within(t, start, length);
    const at = this.dataOffset + info.offset + start;
    return this.bytes.subarray(at, at + length);
  }
  async readTensorRange(t: GGUFTensorInfo | string, start: number, length: number): Promise<Uint8Array> {
    return this.readTensorRangeSync(t, start, length);
  }
  async close(): Promise<void> {}
}

/** One file of a model: its source and the absolute offset of its data section. */
interface Part {
  src: ByteSource;
  dataOffset: number;
}

/**
 * Any ByteSource, or the parts of a split model (llama.cpp gguf-split): tensors are read one at a
 * time with exact-size reads, each from the part that holds it (offsets are per part).
 */
class SourceGGUFFile extends GGUFFileBase {
  private closed = false;
  constructor(
    private readonly parts: Part[],
    h: GGUFHeader,
    /** Tensor name -> index into parts (absent: a single file). */
    private readonly partOf?: ReadonlyMap<string, number>,
  ) {
    super(
      parts[0]!.src.name,
      parts.reduce((a, p) => a + p.src.size, 0),
      h,
    );
  }

  private range(t: GGUFTensorInfo | string): [GGUFTensorInfo, ByteSource, number] {
    const info = this.resolve(t);
    if (this.closed) throw new GGUFError("file is closed", { file: this.path, field: info.name });
    const part = this.parts[this.partOf?.get(info.name) ?? 0]!;
    return [info, part.src, part.dataOffset + info.offset];
  }

  async readTensor(t: GGUFTensorInfo | string): Promise<Uint8Array> {
    const [info, src, start] = this.range(t);
    return src.read(start, info.nBytes);
  }

  locate(t: GGUFTensorInfo | string): { filePath: string | undefined; offset: number } {
    const [, src, offset] = this.range(t);
    return { filePath: src.filePath, offset };
  }

  readTensorSync(t: GGUFTensorInfo | string): Uint8Array {
    const [info, src, start] = this.range(t);
    if (!src.readSync) {
      throw new GGUFError("this byte source reads asynchronously only", {
        file: this.path,
        field: info.name,
        hint: "use readTensor(), or loadLLM (which reads every tensor asynchronously)",
      });
    }
    return src.readSync(start, info.nBytes);
  }

  async readTensorRange(t: GGUFTensorInfo | string, start: number, length: number): Promise<Uint8Array> {
    this.within(t, start, length);
    const [, src, at] = this.range(t);
    return src.read(at + start, length);
  }

  readTensorRangeSync(t: GGUFTensorInfo | string, start: number, length: number): Uint8Array {
    const info = this.within(t, start, length);
    const [, src, at] = this.range(t);
    if (!src.readSync) {
      throw new GGUFError("this byte source reads asynchronously only", {
        file: this.path,
        field: info.name,
        hint: "use readTensorRange(), or loadLLM (which reads every tensor asynchronously)",
      });
    }
    return src.readSync(at + start, length);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.parts) await p.src.close();
  }
}

/** Parse a whole GGUF file held in memory. Tensor reads return views into `bytes`. */
export function parseGGUF(input: Uint8Array, path = MEMORY_PATH): GGUFFile {
  // A plain Uint8Array view: tensor views must not be Node Buffers, whose slice() does not copy.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const c = new Cursor(bytes, bytes.length, path === MEMORY_PATH ? undefined : path);
  try {
    return new MemoryGGUFFile(bytes, path, parseHeader(c));
  } catch (e) {
    // With the whole file loaded, every bounds check is against the buffer itself.
    if (e instanceof NeedMoreBytes) throw new Error("internal: NeedMoreBytes with the whole file loaded");
    throw e;
  }
}

export interface OpenGGUFOptions {
  /** First header read in bytes (default 1 MiB), doubled until the header fits. */
  headerChunkBytes?: number;
}

/**
 * Open a GGUF: parse its header now, read tensor data on demand. Caller must close().
 * `input`: a file path (Node), a URL (HTTP Range requests), a Blob/File (browsers, OPFS) or any
 * ByteSource. A split model (llama.cpp gguf-split, `name-00001-of-00003.gguf`): pass the first
 * part by path or URL and the others are found beside it by name, or pass every part in order.
 */
export async function openGGUF(
  input: GGUFInput | readonly GGUFInput[],
  opts: OpenGGUFOptions = {},
): Promise<GGUFFile> {
  const chunk = Math.max(1, opts.headerChunkBytes ?? INITIAL_CHUNK);
  if (Array.isArray(input)) {
    if (input.length === 0) throw new GGUFError("no GGUF parts given");
    return openParts(input, chunk);
  }
  const first = await openPart(input as GGUFInput, chunk);
  const split = splitInfo(first.header, first.src.name);
  if (!split) return new SourceGGUFFile([first], first.header);
  if (split.no !== 0) {
    await first.src.close();
    throw new GGUFError(`this is part ${split.no + 1} of a ${split.count}-part split model`, {
      file: first.src.name,
      hint: "open the first part (…-00001-of-…gguf)",
    });
  }
  const names = splitPartNames(first.src.name);
  if (!names || names.length !== split.count || (typeof input !== "string" && !(input instanceof URL))) {
    await first.src.close();
    throw new GGUFError(`a split model in ${split.count} parts: its other parts are needed`, {
      file: first.src.name,
      hint: "name the parts <name>-00001-of-0000N.gguf side by side and open the first by path or URL, or pass every part: openGGUF([part1, part2, …])",
    });
  }
  const rest = names.slice(1).map((n) => (input instanceof URL ? new URL(n) : n));
  return openParts(rest, chunk, first);
}

/** split.no / split.count of a part (llama.cpp LLM_KV_SPLIT_*), or undefined for a whole file. */
function splitInfo(h: GGUFHeader, file: string): { no: number; count: number; tensors?: number } | undefined {
  const count = h.metadata.get("split.count");
  if (count === undefined) return undefined;
  const no = h.metadata.get("split.no");
  const tensors = h.metadata.get("split.tensors.count");
  if (typeof count !== "number" || typeof no !== "number" || !(count >= 1) || !(no >= 0 && no < count))
    throw new GGUFError(`bad split keys: split.no ${String(no)}, split.count ${String(count)}`, { file });
  if (count === 1) return undefined;
  return { no, count, tensors: typeof tensors === "number" ? tensors : undefined };
}

async function openPart(input: GGUFInput, chunk: number): Promise<Part & { header: GGUFHeader }> {
  const src = await openByteSource(input);
  try {
    const header = await readHeader(src, chunk);
    return { src, dataOffset: header.dataOffset, header };
  } catch (e) {
    await src.close();
    throw e;
  }
}

/**
 * Parts in order (the first holds the metadata; every part its tensors, offsets relative to its
 * own data section); checks split.no, split.count and split.tensors.count, and unique names.
 */
async function openParts(
  inputs: readonly GGUFInput[],
  chunk: number,
  first?: Part & { header: GGUFHeader },
): Promise<GGUFFile> {
  const parts: (Part & { header: GGUFHeader })[] = first ? [first] : [];
  try {
    for (const i of inputs) parts.push(await openPart(i, chunk));
    const head = parts[0]!.header;
    const s0 = splitInfo(head, parts[0]!.src.name);
    if (!s0) {
      if (parts.length === 1) return new SourceGGUFFile(parts, head);
      throw new GGUFError(`${parts.length} files given, but the first has no split keys`, {
        file: parts[0]!.src.name,
      });
    }
    if (parts.length !== s0.count)
      throw new GGUFError(`a split model in ${s0.count} parts, ${parts.length} given`, {
        file: parts[0]!.src.name,
      });
    const tensors: GGUFTensorInfo[] = [];
    const partOf = new Map<string, number>();
    parts.forEach((p, i) => {
      const s = splitInfo(p.header, p.src.name);
      if (!s || s.no !== i || s.count !== s0.count)
        throw new GGUFError(
          `expected part ${i + 1} of ${s0.count}, found ${s ? `part ${s.no + 1} of ${s.count}` : "a file without split keys"}`,
          { file: p.src.name, field: "split.no" },
        );
      for (const t of p.header.tensors) {
        if (partOf.has(t.name))
          throw new GGUFError(`tensor '${t.name}' appears in two parts`, { file: p.src.name, field: t.name });
        partOf.set(t.name, i);
        tensors.push(t);
      }
    });
    if (s0.tensors !== undefined && s0.tensors !== tensors.length)
      throw new GGUFError(`split.tensors.count is ${s0.tensors}, the parts hold ${tensors.length}`, {
        file: parts[0]!.src.name,
        field: "split.tensors.count",
      });
    return new SourceGGUFFile(parts, { ...head, tensors }, partOf);
  } catch (e) {
    for (const p of parts) await p.src.close();
    throw e;
  }
}

async function readHeader(src: ByteSource, chunk: number): Promise<GGUFHeader> {
  const path = src.name;
  const fileSize = src.size;
  let buf: Uint8Array = new Uint8Array(0);
  let want = Math.min(fileSize, chunk);
  for (;;) {
    buf = await extend(src, buf, want);
    try {
      return parseHeader(new Cursor(buf, fileSize, path));
    } catch (e) {
      if (!(e instanceof NeedMoreBytes)) throw e;
      if (e.needed > MAX_HEADER_BYTES) {
        throw new GGUFError(`header larger than ${MAX_HEADER_BYTES} bytes`, {
          file: path,
          offset: buf.length,
          hint: "metadata this large is almost certainly corrupt",
        });
      }
      want = Math.min(fileSize, Math.max(2 * buf.length, e.needed));
    }
  }
}

/** Grow the loaded prefix to `size` bytes, keeping what was already read. */
async function extend(src: ByteSource, old: Uint8Array, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  out.set(old);
  if (size > old.length) out.set(await src.read(old.length, size - old.length), old.length);
  return out;
}
