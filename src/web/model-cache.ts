/**
 * Models downloaded from URLs and kept in the browser's Origin Private File System (OPFS).
 *
 *   const cache = new ModelCache();
 *   const m = await cache.download(url, { onProgress: (p) => bar(p.loaded / p.total) });
 *   const llm = await loadLLM(await cache.file(m.key));   // a File: tensors read slice by slice
 *
 * Layout: directory `edgellm-models/`, per model `<key>.gguf` (the bytes, complete or partial) and
 * `<key>.json` (url, size, etag, complete, sha256). A download writes into `<key>.gguf` and commits
 * every COMMIT_BYTES, so an interrupted download (network cut, tab closed, error) keeps what it got
 * and the next download() resumes with `Range: bytes=<have>-`; a server that ignores Range or an
 * ETag that changed restarts from 0. Network failures are retried (resuming) RETRIES times before
 * the error reaches the caller, and a later call resumes again: a download never stays broken.
 * Checks: HTTP status (404 and others typed), the GGUF magic in the first bytes, the final size
 * against Content-Range/Content-Length, and an optional sha256. Storage quota is checked before
 * downloading (navigator.storage.estimate) and QuotaExceededError while writing is typed too.
 */
import {
  cacheKey,
  DOWNLOAD_RETRIES,
  fetchFailedError,
  GGUF_MAGIC,
  hasGGUFMagic,
  ModelDownloadError,
  notGGUFError,
  readRangeResponse,
  type CachedModel,
  type DownloadOptions,
} from "../cache/common.js";
import { Sha256 } from "./sha256.js";

export {
  ModelDownloadError,
  type CachedModel,
  type DownloadErrorCode,
  type DownloadOptions,
  type DownloadProgress,
} from "../cache/common.js";

/** Bytes written between commits of the OPFS writable (what a hard kill can lose). */
const COMMIT_BYTES = 8 << 20;
const DIR = "edgellm-models";

export class ModelCache {
  constructor(
    private readonly dirName = DIR,
    private readonly fetchFn: typeof fetch = (...a) => fetch(...a),
  ) {}

  /** Cache key of a URL: its file name plus a hash of the whole URL (the Node cache uses the same). */
  static keyOf(url: string): string {
    return cacheKey(url);
  }

  private async dir(): Promise<FileSystemDirectoryHandle> {
    const storage = (globalThis as { navigator?: Navigator }).navigator?.storage;
    if (!storage?.getDirectory)
      throw new ModelDownloadError(
        "no-opfs",
        "this browser has no Origin Private File System",
        undefined,
        "use a current Chromium, Firefox or Safari over https or localhost",
      );
    const root = await storage.getDirectory();
    return root.getDirectoryHandle(this.dirName, { create: true });
  }

  private async readMeta(dir: FileSystemDirectoryHandle, key: string): Promise<CachedModel | undefined> {
    try {
      const f = await (await dir.getFileHandle(`${key}.json`)).getFile();
      return JSON.parse(await f.text()) as CachedModel;
    } catch {
      return undefined;
    }
  }

  private async writeMeta(dir: FileSystemDirectoryHandle, m: CachedModel): Promise<void> {
    const w = await (await dir.getFileHandle(`${m.key}.json`, { create: true })).createWritable();
    await w.write(JSON.stringify(m));
    await w.close();
  }

  /** Every model in the cache, complete or partial, with its stored size. */
  async list(): Promise<CachedModel[]> {
    const dir = await this.dir();
    const out: CachedModel[] = [];
    for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) {
      if (!name.endsWith(".json")) continue;
      const m = await this.readMeta(dir, name.slice(0, -5));
      if (!m) continue;
      try {
        m.stored = (await (await dir.getFileHandle(`${m.key}.gguf`)).getFile()).size;
      } catch {
        m.stored = 0;
      }
      out.push(m);
    }
    return out.sort((a, b) => b.savedAt - a.savedAt);
  }

  async get(url: string): Promise<CachedModel | undefined> {
    return this.readMeta(await this.dir(), ModelCache.keyOf(url));
  }

  /** The stored bytes as a File (read lazily: pass it to loadLLM / openGGUF). */
  async file(key: string): Promise<File> {
    const dir = await this.dir();
    return (await dir.getFileHandle(`${key}.gguf`)).getFile();
  }

  async delete(key: string): Promise<void> {
    const dir = await this.dir();
    for (const n of [`${key}.gguf`, `${key}.json`]) await dir.removeEntry(n).catch(() => {});
  }

  /**
   * Download `url` into the cache (or return the cached copy without any request). Resumes a
   * partial download; retries network failures with backoff, resuming each time.
   */
  async download(url: string, opts: DownloadOptions = {}): Promise<CachedModel> {
    const dir = await this.dir();
    const key = ModelCache.keyOf(url);
    const have = await this.readMeta(dir, key);
    if (have?.complete) {
      const size = (await this.file(key).catch(() => undefined))?.size;
      if (size === have.size) {
        opts.onProgress?.({ phase: "cached", loaded: size, total: size, fetched: 0 });
        return { ...have, stored: size };
      }
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fetchInto(dir, key, url, have?.url === url ? have : undefined, opts);
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

  private async fetchInto(
    dir: FileSystemDirectoryHandle,
    key: string,
    url: string,
    prev: CachedModel | undefined,
    opts: DownloadOptions,
  ): Promise<CachedModel> {
    const fh = await dir.getFileHandle(`${key}.gguf`, { create: true });
    let offset = (await fh.getFile()).size;
    const headers: Record<string, string> = { ...opts.headers };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      if (prev?.etag) headers["if-range"] = prev.etag;
    }
    let res: Response;
    try {
      res = await this.fetchFn(url, { headers, signal: opts.signal, cache: "no-store" });
    } catch (e) {
      if (opts.signal?.aborted) throw new ModelDownloadError("aborted", "download cancelled", url);
      throw await this.fetchFailure(url, e);
    }
    if (res.status === 416 && prev && prev.size > 0 && offset === prev.size)
      return this.finish(dir, { ...prev, stored: offset }, fh, opts);
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
    await this.writeMeta(dir, meta);
    if (total > 0) await checkQuota(total - offset, url);

    let w = await openWritable(fh, offset, url);
    let sinceCommit = 0;
    let fetched = 0;
    let head: Uint8Array = offset === 0 ? new Uint8Array(0) : Uint8Array.from(GGUF_MAGIC);
    const report = () =>
      opts.onProgress?.({ phase: "download", loaded: offset, total, fetched, resumedFrom });
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
            "it resumes from there",
          );
        }
        if (chunk.done) break;
        const b = chunk.value;
        if (head.length < 4) {
          head = concat(head, b.subarray(0, 4 - head.length));
          if (head.length >= 4 && !hasGGUFMagic(head)) {
            await w.abort();
            await this.delete(key);
            throw notGGUFError(url);
          }
        }
        try {
          await w.write(b as Uint8Array<ArrayBuffer>);
        } catch (e) {
          throw quotaOr(e, url);
        }
        offset += b.length;
        fetched += b.length;
        sinceCommit += b.length;
        if (sinceCommit >= COMMIT_BYTES) {
          await commit(w, url);
          w = await openWritable(fh, offset, url);
          sinceCommit = 0;
        }
        report();
      }
    } catch (e) {
      await w.close().catch(() => {}); // keep what arrived: the next call resumes from it
      throw e;
    } finally {
      reader.releaseLock();
    }
    await commit(w, url);
    return this.finish(dir, { ...meta, stored: offset, size: total || offset }, fh, opts);
  }

  /**
   * The fetch threw, which in a browser is a network failure or a CORS refusal (the same opaque
   * TypeError). For a cross-origin URL, a no-cors HEAD tells them apart: when the server answers
   * it, the refusal was CORS ("cors", not retried); otherwise a "network" error (retried).
   */
  private async fetchFailure(url: string, e: unknown): Promise<ModelDownloadError> {
    const loc = (globalThis as { location?: Location }).location;
    let target: URL;
    try {
      target = new URL(url, loc?.href);
    } catch {
      return fetchFailedError(url, e);
    }
    if (!loc || target.origin === loc.origin) return fetchFailedError(url, e);
    try {
      await this.fetchFn(target.href, { method: "HEAD", mode: "no-cors", cache: "no-store" });
    } catch {
      return fetchFailedError(url, e);
    }
    return new ModelDownloadError(
      "cors",
      `this page may not read the model: the server at ${target.origin} answers, but not with Access-Control-Allow-Origin for ${loc.origin} (CORS)`,
      url,
      "serve the model with 'Access-Control-Allow-Origin: *' (Hugging Face does), or from this page's own origin",
    );
  }

  private async finish(
    dir: FileSystemDirectoryHandle,
    m: CachedModel,
    fh: FileSystemFileHandle,
    opts: DownloadOptions,
  ): Promise<CachedModel> {
    const file = await fh.getFile();
    opts.onProgress?.({ phase: "verify", loaded: file.size, total: m.size, fetched: 0 });
    if (file.size !== m.size) {
      if (file.size > m.size) await this.delete(m.key);
      throw new ModelDownloadError("size", `downloaded ${file.size} bytes, expected ${m.size}`, m.url);
    }
    const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
    if (!hasGGUFMagic(head)) {
      await this.delete(m.key);
      throw notGGUFError(m.url);
    }
    if (opts.sha256) {
      const h = new Sha256();
      for (let o = 0; o < file.size; o += 16 << 20)
        h.update(new Uint8Array(await file.slice(o, o + (16 << 20)).arrayBuffer()));
      const got = h.hex();
      if (got !== opts.sha256.toLowerCase()) {
        await this.delete(m.key);
        throw new ModelDownloadError(
          "sha256",
          `sha256 mismatch: got ${got}, expected ${opts.sha256}`,
          m.url,
          "the file changed on the server or was corrupted; it was removed from the cache",
        );
      }
    }
    const done: CachedModel = { ...m, stored: file.size, complete: true, savedAt: Date.now() };
    await this.writeMeta(dir, done);
    return done;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function openWritable(
  fh: FileSystemFileHandle,
  offset: number,
  url: string,
): Promise<FileSystemWritableFileStream> {
  try {
    const w = await fh.createWritable({ keepExistingData: true });
    await w.truncate(offset);
    await w.seek(offset);
    return w;
  } catch (e) {
    throw quotaOr(e, url);
  }
}

async function commit(w: FileSystemWritableFileStream, url: string): Promise<void> {
  try {
    await w.close();
  } catch (e) {
    throw quotaOr(e, url);
  }
}

function quotaOr(e: unknown, url: string): Error {
  if ((e as DOMException)?.name === "QuotaExceededError") {
    return new ModelDownloadError(
      "quota",
      "the browser's storage quota is full",
      url,
      "delete cached models, or allow this site more storage",
    );
  }
  return e instanceof Error ? e : new Error(String(e));
}

async function checkQuota(need: number, url: string): Promise<void> {
  const est = await (globalThis as { navigator?: Navigator }).navigator?.storage?.estimate?.();
  if (!est?.quota) return;
  const free = est.quota - (est.usage ?? 0);
  if (need > free) {
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 1 : 0)} MiB`;
    throw new ModelDownloadError(
      "quota",
      `not enough storage for this model: it needs ${mb(need)} more, the browser allows ${mb(free)}`,
      url,
      "delete cached models, or free disk space",
    );
  }
}
