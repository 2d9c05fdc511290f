/**
 * GGUF reader: `openGGUF(path)` for files of any size (header read in growing chunks through a
 * FileHandle, tensor data read lazily per tensor) and `parseGGUF(bytes)` for bytes already in
 * memory (browsers, fuzzer). Both share parse.ts, so they accept and reject exactly the same files.
 */
import { open, type FileHandle } from "node:fs/promises";
import { constants, readSync, type Stats } from "node:fs";
import { GGUFError } from "../errors.js";
import { Cursor, NeedMoreBytes } from "./cursor.js";
import { parseHeader, type GGUFHeader, type GGUFTensorInfo } from "./parse.js";
import type { GGUFValueType } from "./value.js";
import type { GGUFMetaValue } from "./value.js";

export { GGUFValueType, typed, GGUFTypedValue, GGUF_ITEM_TYPE } from "./value.js";
export type { GGUFMetaValue, GGUFArrayValue, GGUFNumericArray } from "./value.js";
export type { GGUFTensorInfo } from "./parse.js";
export { GGUF_DEFAULT_ALIGNMENT } from "./parse.js";

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
/** Largest single read; big tensors are read in several. */
const MAX_READ = 1 << 30;
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

class FileGGUFFile extends GGUFFileBase {
  private closed = false;
  constructor(
    private readonly fh: FileHandle,
    path: string,
    fileSize: number,
    h: GGUFHeader,
  ) {
    super(path, fileSize, h);
  }

  private checkOpen(name: string): void {
    if (this.closed) throw new GGUFError("file is closed", { file: this.path, field: name });
  }

  async readTensor(t: GGUFTensorInfo | string): Promise<Uint8Array> {
    const info = this.resolve(t);
    this.checkOpen(info.name);
    const out = new Uint8Array(info.nBytes);
    const start = this.dataOffset + info.offset;
    for (let done = 0; done < out.length;) {
      const len = Math.min(MAX_READ, out.length - done);
      const { bytesRead } = await this.fh.read(out, done, len, start + done);
      if (bytesRead === 0) throw shortRead(this.path, info, start + done);
      done += bytesRead;
    }
    return out;
  }

  readTensorSync(t: GGUFTensorInfo | string): Uint8Array {
    const info = this.resolve(t);
    this.checkOpen(info.name);
    const out = new Uint8Array(info.nBytes);
    const start = this.dataOffset + info.offset;
    for (let done = 0; done < out.length;) {
      const len = Math.min(MAX_READ, out.length - done);
      const n = readSync(this.fh.fd, out, done, len, start + done);
      if (n === 0) throw shortRead(this.path, info, start + done);
      done += n;
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

function shortRead(path: string, t: GGUFTensorInfo, offset: number): GGUFError {
  return new GGUFError("unexpected end of file while reading tensor data", {
    file: path,
    offset,
    field: `tensor '${t.name}'`,
    hint: "the file shrank after it was opened",
  });
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

function fileKind(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  return "not a plain file";
}

export interface OpenGGUFOptions {
  /** First header read in bytes (default 1 MiB), doubled until the header fits. */
  headerChunkBytes?: number;
}

/** Open a GGUF file: parse its header now, read tensor data on demand. Caller must close(). */
export async function openGGUF(path: string, opts: OpenGGUFOptions = {}): Promise<GGUFFile> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer for ever; it has no
    // effect on the regular files we accept (checked on the open descriptor just below).
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new GGUFError(`cannot open file: ${(e as Error).message}`, { file: path });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new GGUFError(`not a regular file (${fileKind(st)})`, { file: path });
    const fileSize = st.size;
    const header = await readHeader(fh, path, fileSize, Math.max(1, opts.headerChunkBytes ?? INITIAL_CHUNK));
    return new FileGGUFFile(fh, path, fileSize, header);
  } catch (e) {
    await fh.close();
    throw e;
  }
}

async function readHeader(
  fh: FileHandle,
  path: string,
  fileSize: number,
  chunk: number,
): Promise<GGUFHeader> {
  let buf: Uint8Array = new Uint8Array(0);
  let want = Math.min(fileSize, chunk);
  for (;;) {
    buf = await extend(fh, buf, want, path);
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
async function extend(fh: FileHandle, old: Uint8Array, size: number, path: string): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  out.set(old);
  for (let done = old.length; done < size;) {
    const { bytesRead } = await fh.read(out, done, size - done, done);
    if (bytesRead === 0) throw new GGUFError("unexpected end of file", { file: path, offset: done });
    done += bytesRead;
  }
  return out;
}
