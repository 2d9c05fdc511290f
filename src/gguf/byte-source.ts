/**
 * Where GGUF bytes come from. The reader asks for (offset, length) ranges: the header in growing
 * chunks, then one tensor at a time, so no source ever holds the whole file in one buffer.
 *   memory   Uint8Array already loaded (tests, fuzzer)
 *   blob     Blob / File (file picker, drag and drop) and OPFS files (FileSystemFileHandle.getFile())
 *   sync     an OPFS file through a FileSystemSyncAccessHandle (dedicated workers): synchronous
 *            positional reads, so experts on demand and streamed layers can read it mid-forward
 *   http     a URL read with HTTP Range requests (the server must answer 206)
 *   node     a file path through a FileHandle: sources/node-file.ts, loaded only in Node
 */
import { GGUFError } from "../errors.js";
import { isNode, nodeImport } from "../platform/node-import.js";

export interface ByteSource {
  /** Path, URL or file name, used in error messages and as the model's default name. */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes from `offset` (a GGUFError if the source ends first). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** The local file path, for a Node file (another thread may open it for its own reads). */
  readonly filePath?: string;
  /** Synchronous read, where the source can (memory, Node file). */
  readSync?(offset: number, length: number): Uint8Array;
  close(): Promise<void>;
}

export function isByteSource(x: unknown): x is ByteSource {
  return (
    typeof x === "object" &&
    x !== null &&
    typeof (x as ByteSource).read === "function" &&
    typeof (x as ByteSource).size === "number"
  );
}

function checkRange(src: ByteSource, offset: number, length: number): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > src.size
  ) {
    throw new GGUFError("unexpected end of file", {
      file: src.name,
      offset,
      hint: `read of ${length} bytes past the end (${src.size} bytes)`,
    });
  }
}

export function memorySource(bytes: Uint8Array, name = "<memory>"): ByteSource {
  const src: ByteSource = {
    name,
    size: bytes.length,
    readSync(offset, length) {
      checkRange(src, offset, length);
      return bytes.subarray(offset, offset + length);
    },
    async read(offset, length) {
      return src.readSync!(offset, length);
    },
    async close() {},
  };
  return src;
}

/** A Blob or File (and so an OPFS file): reads slice the blob, nothing is loaded up front. */
export function blobSource(blob: Blob, name?: string): ByteSource {
  const src: ByteSource = {
    name: name ?? ((blob as File).name || "<blob>"),
    size: blob.size,
    async read(offset, length) {
      checkRange(src, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
    async close() {},
  };
  return src;
}

/** What syncHandleSource uses of a FileSystemSyncAccessHandle (OPFS, dedicated workers only). */
export interface SyncReadHandle {
  getSize(): number;
  read(buffer: Uint8Array, options: { at: number }): number;
  close(): void;
}

/**
 * An OPFS file opened with `createSyncAccessHandle()` (in a dedicated worker): reads are
 * synchronous and positional (`at` is a double, so offsets past 4 GiB work). The handle holds the
 * file's exclusive lock until close().
 */
export function syncHandleSource(handle: SyncReadHandle, name: string): ByteSource {
  let closed = false;
  const src: ByteSource = {
    name,
    size: handle.getSize(),
    readSync(offset, length) {
      checkRange(src, offset, length);
      if (closed) throw new GGUFError("file is closed", { file: name, offset });
      const out = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const n = handle.read(out.subarray(done), { at: offset + done });
        if (n <= 0)
          throw new GGUFError("unexpected end of file", {
            file: name,
            offset: offset + done,
            hint: `read ${done} of ${length} bytes`,
          });
        done += n;
      }
      return out;
    },
    async read(offset, length) {
      return src.readSync!(offset, length);
    },
    async close() {
      if (closed) return;
      closed = true;
      handle.close();
    },
  };
  return src;
}

export interface HttpSourceOptions {
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** Largest single Range request; bigger tensors are fetched in pieces. */
const HTTP_PIECE = 64 << 20;

/** A URL read by HTTP Range requests. The size comes from the first response's Content-Range. */
export async function httpSource(url: string | URL, opts: HttpSourceOptions = {}): Promise<ByteSource> {
  const f = opts.fetch ?? fetch;
  const name = String(url);
  const get = async (start: number, end: number): Promise<Response> => {
    let res: Response;
    try {
      res = await f(url, { headers: { ...opts.headers, range: `bytes=${start}-${end}` } });
    } catch (e) {
      throw new GGUFError(`cannot fetch: ${(e as Error).message}`, {
        file: name,
        hint: "network error, or the server does not allow this origin (CORS)",
      });
    }
    if (res.status === 404) throw new GGUFError("not found (HTTP 404)", { file: name });
    if (res.status !== 206) {
      await res.body?.cancel();
      throw new GGUFError(`the server answered HTTP ${res.status} to a Range request`, {
        file: name,
        hint: res.ok
          ? "it must support Range requests (206 Partial Content); download the file instead"
          : undefined,
      });
    }
    return res;
  };
  const first = await get(0, 0);
  const total = /\/(\d+)\s*$/.exec(first.headers.get("content-range") ?? "")?.[1];
  await first.arrayBuffer();
  if (total === undefined) throw new GGUFError("no total size in Content-Range", { file: name });
  const src: ByteSource = {
    name,
    size: Number(total),
    async read(offset, length) {
      checkRange(src, offset, length);
      const out = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const n = Math.min(HTTP_PIECE, length - done);
        const buf = new Uint8Array(await (await get(offset + done, offset + done + n - 1)).arrayBuffer());
        if (buf.length !== n)
          throw new GGUFError(`short Range response: ${buf.length} of ${n} bytes`, {
            file: name,
            offset: offset + done,
          });
        out.set(buf, done);
        done += n;
      }
      return out;
    },
    async close() {},
  };
  return src;
}

/** A file path (Node) through a FileHandle; sources/node-file.ts is loaded only here. */
export async function fileSource(path: string): Promise<ByteSource> {
  const m = await nodeImport<typeof import("./sources/node-file.js")>(
    new URL("./sources/node-file.js", import.meta.url).href,
    `reading the file '${path}'`,
  );
  return m.openFileSource(path);
}

/** What openGGUF accepts. A string is a file path in Node and a URL in browsers. */
export type GGUFInput = string | URL | Blob | ByteSource;

export async function openByteSource(input: GGUFInput): Promise<ByteSource> {
  if (isByteSource(input)) return input;
  if (typeof Blob !== "undefined" && input instanceof Blob) return blobSource(input);
  if (input instanceof URL)
    return input.protocol === "file:" && isNode
      ? fileSource(decodeURIComponent(input.pathname))
      : httpSource(input);
  const s = input as string;
  if (/^https?:\/\//i.test(s) || !isNode)
    return httpSource(isNode ? s : new URL(s, globalThis.location?.href));
  return fileSource(s);
}
