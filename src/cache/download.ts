/**
 * The one resumable model download, shared by the Node cache (cache/node-cache.ts, a directory)
 * and the browser's (web/model-cache.ts, OPFS); each supplies a DownloadStore for its storage.
 *
 *   resumableDownload(url, key, store, opts, fetchFn)
 *     for each attempt (network failures retried DOWNLOAD_RETRIES times with backoff):
 *       Range: bytes=<stored>- (If-Range: <etag>) -> 206 resumes, 200 restarts from 0, 416 with
 *       everything stored goes straight to the checks; 404 and other statuses are typed errors;
 *       the GGUF magic is checked on the first bytes; progress after every chunk;
 *     then the checks: size against Content-Range/Content-Length, GGUF magic, optional sha256
 *     (a failed check removes the entry), and the store commits the complete file.
 * Every chunk goes to the store as it arrives, so a cut keeps what came and the next call resumes.
 */
import {
  DOWNLOAD_RETRIES,
  GGUF_MAGIC,
  hasGGUFMagic,
  ModelDownloadError,
  notGGUFError,
  readRangeResponse,
  type CachedModel,
  type DownloadOptions,
} from "./common.js";

/** Where a download's bytes go while they arrive: written in order from the offset it was opened at. */
export interface DownloadSink {
  write(b: Uint8Array): Promise<void>;
  /** Keep what was written (also on an error: the next download resumes from it). */
  close(): Promise<void>;
  /** Drop the writer without keeping anything more (the body was not a GGUF). */
  abort(): Promise<void>;
}

/** One cache entry's storage: the partial bytes and the metadata record. */
export interface DownloadStore {
  readMeta(): Promise<CachedModel | undefined>;
  writeMeta(m: CachedModel): Promise<void>;
  /** Bytes stored so far (the resume offset). */
  storedSize(): Promise<number>;
  /** A writer at `offset`, anything past it dropped. */
  open(offset: number, url: string): Promise<DownloadSink>;
  /** The stored bytes' first `n`, and their sha256 (lower-case hex). */
  head(n: number): Promise<Uint8Array>;
  sha256(): Promise<string>;
  /** Make the checked bytes the complete copy (Node: rename the .part file). */
  commit(): Promise<void>;
  /** Remove the entry: bytes and metadata. */
  remove(): Promise<void>;
  /** Extra fetch options (the browser: cache: "no-store"). */
  readonly fetchInit?: RequestInit;
  /** The fetch threw: the typed error (the browser tells a CORS refusal from a network failure). */
  fetchFailed(url: string, e: unknown): Promise<ModelDownloadError>;
  /** Before writing `bytes` more (the browser checks its storage quota). */
  reserve?(bytes: number, url: string): Promise<void>;
  /** The hint on a cut download (the CLI: run the same command again). */
  readonly resumeHint: string;
}

/**
 * Download `url` into `store`, resuming what is stored; retries network failures with backoff,
 * resuming each time. The caller has already answered from a complete entry (no request then).
 */
export async function resumableDownload(
  url: string,
  key: string,
  store: DownloadStore,
  opts: DownloadOptions,
  fetchFn: typeof fetch,
): Promise<CachedModel> {
  for (let attempt = 0; ; attempt++) {
    // the entry as the last attempt left it (its ETag for If-Range, its size for a 416)
    const cur = await store.readMeta();
    const prev = cur?.url === url && !cur.complete ? cur : undefined;
    try {
      return await fetchInto(url, key, store, prev, opts, fetchFn);
    } catch (e) {
      const err =
        e instanceof ModelDownloadError
          ? e
          : new ModelDownloadError("network", `download failed: ${(e as Error).message}`, url);
      if (err.code !== "network" || attempt >= DOWNLOAD_RETRIES || opts.signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  }
}

async function fetchInto(
  url: string,
  key: string,
  store: DownloadStore,
  prev: CachedModel | undefined,
  opts: DownloadOptions,
  fetchFn: typeof fetch,
): Promise<CachedModel> {
  let offset = await store.storedSize();
  const headers: Record<string, string> = { ...opts.headers };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    if (prev?.etag) headers["if-range"] = prev.etag;
  }
  let res: Response;
  try {
    res = await fetchFn(url, { ...store.fetchInit, headers, signal: opts.signal });
  } catch (e) {
    if (opts.signal?.aborted) throw new ModelDownloadError("aborted", "download cancelled", url);
    throw await store.fetchFailed(url, e);
  }
  if (res.status === 416 && prev && prev.size > 0 && offset === prev.size) {
    await res.body?.cancel();
    return finish(store, { ...prev, stored: offset }, opts);
  }
  const r = await readRangeResponse(res, url, offset);
  offset = r.offset;
  const { total, resumedFrom } = r;
  const meta: CachedModel = {
    key,
    url,
    size: total,
    stored: offset,
    complete: false,
    etag: res.headers.get("etag") ?? undefined,
    sha256: opts.sha256,
    savedAt: Date.now(),
  };
  await store.writeMeta(meta);
  if (total > 0) await store.reserve?.(total - offset, url);

  let sink: DownloadSink;
  try {
    sink = await store.open(offset, url);
  } catch (e) {
    await res.body?.cancel();
    throw e;
  }
  let fetched = 0;
  let head: Uint8Array = offset === 0 ? new Uint8Array(0) : Uint8Array.from(GGUF_MAGIC);
  const report = () => opts.onProgress?.({ phase: "download", loaded: offset, total, fetched, resumedFrom });
  report();
  const reader = res.body!.getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (opts.signal?.aborted) throw new ModelDownloadError("aborted", "download cancelled", url);
        throw new ModelDownloadError(
          "network",
          `the download was cut at ${offset} of ${total} bytes: ${(e as Error).message}`,
          url,
          store.resumeHint,
        );
      }
      if (chunk.done) break;
      const b = chunk.value;
      if (head.length < 4) {
        const h = new Uint8Array(Math.min(4, head.length + b.length));
        h.set(head);
        h.set(b.subarray(0, h.length - head.length), head.length);
        head = h;
        if (head.length >= 4 && !hasGGUFMagic(head)) {
          await sink.abort();
          await store.remove();
          throw notGGUFError(url);
        }
      }
      await sink.write(b);
      offset += b.length;
      fetched += b.length;
      report();
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    await sink.close().catch(() => {}); // keep what arrived: the next call resumes from it
    throw e;
  } finally {
    reader.releaseLock();
  }
  await sink.close();
  return finish(store, { ...meta, stored: offset, size: total || offset }, opts);
}

/** Check the stored bytes (size, magic, sha256), then commit them as the complete entry. */
async function finish(store: DownloadStore, m: CachedModel, opts: DownloadOptions): Promise<CachedModel> {
  const size = await store.storedSize();
  opts.onProgress?.({ phase: "verify", loaded: size, total: m.size, fetched: 0 });
  if (size !== m.size) {
    if (size > m.size) await store.remove();
    throw new ModelDownloadError("size", `downloaded ${size} bytes, expected ${m.size}`, m.url);
  }
  if (!hasGGUFMagic(await store.head(4))) {
    await store.remove();
    throw notGGUFError(m.url);
  }
  if (opts.sha256) {
    const got = await store.sha256();
    if (got !== opts.sha256.toLowerCase()) {
      await store.remove();
      throw new ModelDownloadError(
        "sha256",
        `sha256 mismatch: got ${got}, expected ${opts.sha256}`,
        m.url,
        "the file changed on the server or was corrupted; it was removed from the cache",
      );
    }
  }
  await store.commit();
  const done: CachedModel = { ...m, stored: size, complete: true, savedAt: Date.now() };
  await store.writeMeta(done);
  return done;
}
