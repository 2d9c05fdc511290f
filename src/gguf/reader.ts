/**
 * GGUF reader: `openGGUF(path | URL | Blob | ByteSource)` for files of any size (header read in
 * growing chunks through a ByteSource, tensor data read lazily per tensor) and `parseGGUF(bytes)` for bytes already in
 * memory (browsers, fuzzer). Both share parse.ts, so they accept and reject exactly the same files.
 */
import { GGUFError } from "../errors.js";
import { openByteSource, type ByteSource, type GGUFInput } from "./byte-source.js";
import { Cursor, NeedMoreBytes } from "./cursor.js";
import { parseHeader, type GGUFHeader, type GGUFTensorInfo } from "./parse.js";
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

  abstract readTensor(t: GGUFTensorInfo | string): Promise<Uint8Array>;
  abstract readTensorSync(t: GGUFTensorInfo | string): Uint8Array;
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
  async close(): Promise<void> {}
}

/** Any ByteSource: tensors are read one at a time with exact-size reads. */
class SourceGGUFFile extends GGUFFileBase {
  private closed = false;
  constructor(
    private readonly src: ByteSource,
    h: GGUFHeader,
  ) {
    super(src.name, src.size, h);
  }

  private range(t: GGUFTensorInfo | string): [GGUFTensorInfo, number] {
    const info = this.resolve(t);
    if (this.closed) throw new GGUFError("file is closed", { file: this.path, field: info.name });
    return [info, this.dataOffset + info.offset];
  }

  async readTensor(t: GGUFTensorInfo | string): Promise<Uint8Array> {
    const [info, start] = this.range(t);
    return this.src.read(start, info.nBytes);
  }

  readTensorSync(t: GGUFTensorInfo | string): Uint8Array {
    const [info, start] = this.range(t);
    if (!this.src.readSync) {
      throw new GGUFError("this byte source reads asynchronously only", {
        file: this.path,
        field: info.name,
        hint: "use readTensor(), or loadLLM (which reads every tensor asynchronously)",
      });
    }
    return this.src.readSync(start, info.nBytes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.src.close();
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
 * `input`: a file path (Node), a URL (HTTP Range requests), a Blob/File (browsers, OPFS) or any ByteSource.
 */
export async function openGGUF(input: GGUFInput, opts: OpenGGUFOptions = {}): Promise<GGUFFile> {
  const src = await openByteSource(input);
  try {
    const header = await readHeader(src, Math.max(1, opts.headerChunkBytes ?? INITIAL_CHUNK));
    return new SourceGGUFFile(src, header);
  } catch (e) {
    await src.close();
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
