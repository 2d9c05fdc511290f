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
 * and the next download() resumes with `Range: bytes=<have>-`. The download itself (Range and
 * If-Range, retries, the checks: status, GGUF magic, size, sha256) is cache/download.ts, shared
 * with the Node cache; this file is its OPFS storage. Storage quota is checked before downloading
 * (navigator.storage.estimate) and QuotaExceededError while writing is typed too; a fetch that
 * throws is told apart as CORS or network (fetchFailure).
 */
import {
  cacheKey,
  fetchFailedError,
  ModelDownloadError,
  type CachedModel,
  type DownloadOptions,
} from "../cache/common.js";
import { resumableDownload, type DownloadStore } from "../cache/download.js";
import { Sha256 } from "./sha256.js";
import { syncHandleSource, type ByteSource, type SyncReadHandle } from "../gguf/byte-source.js";

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

  /**
   * The stored bytes with synchronous positional reads (a FileSystemSyncAccessHandle: dedicated
   * workers only), for experts on demand and streamed layers, which read mid-forward. The handle
   * locks the file until the source is closed.
   */
  async openSync(key: string, name = key): Promise<ByteSource> {
    const fh = await (await this.dir()).getFileHandle(`${key}.gguf`);
    const open = (fh as { createSyncAccessHandle?: () => Promise<SyncReadHandle> }).createSyncAccessHandle;
    if (!open)
      throw new ModelDownloadError(
        "no-opfs",
        "this context cannot read OPFS files synchronously (FileSystemSyncAccessHandle)",
        undefined,
        "load the model in a dedicated worker (the engine worker) of a current browser, or keep its weights resident",
      );
    return syncHandleSource(await open.call(fh), name);
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
    return resumableDownload(url, key, this.store(dir, key), opts, this.fetchFn);
  }

  /**
   * The entry's storage for the shared download (cache/download.ts): `<key>.gguf` written through
   * an OPFS writable that is committed every COMMIT_BYTES (what a hard kill can lose).
   */
  private store(dir: FileSystemDirectoryHandle, key: string): DownloadStore {
    const handle = () => dir.getFileHandle(`${key}.gguf`, { create: true });
    return {
      readMeta: () => this.readMeta(dir, key),
      writeMeta: (m) => this.writeMeta(dir, m),
      storedSize: async () => (await (await handle()).getFile()).size,
      open: async (offset, url) => {
        const fh = await handle();
        // In a dedicated worker, a sync access handle writes in place. A writable stream
        // (createWritable) writes a swap copy of the whole file, copied again at every commit:
        // quadratic in the file size (a 1 GB model took minutes per 100 MB in Chromium).
        const sync = await openSyncWriter(fh, offset, url);
        if (sync) return sync;
        let w = await openWritable(fh, offset, url);
        let at = offset;
        let sinceCommit = 0;
        return {
          async write(b) {
            try {
              await w.write(b as Uint8Array<ArrayBuffer>);
            } catch (e) {
              throw quotaOr(e, url);
            }
            at += b.length;
            sinceCommit += b.length;
            if (sinceCommit >= COMMIT_BYTES) {
              await commit(w, url);
              w = await openWritable(fh, at, url);
              sinceCommit = 0;
            }
          },
          close: () => commit(w, url),
          abort: () => w.abort(),
        };
      },
      head: async (n) => new Uint8Array(await (await (await handle()).getFile()).slice(0, n).arrayBuffer()),
      sha256: async () => {
        const file = await (await handle()).getFile();
        const h = new Sha256();
        for (let o = 0; o < file.size; o += 16 << 20)
          h.update(new Uint8Array(await file.slice(o, o + (16 << 20)).arrayBuffer()));
        return h.hex();
      },
      commit: async () => {}, // the bytes are in place; the metadata marks them complete
      remove: () => this.delete(key),
      fetchInit: { cache: "no-store" },
      fetchFailed: (url, e) => this.fetchFailure(url, e),
      reserve: (bytes, url) => checkQuota(bytes, url),
      resumeHint: "it resumes from there",
    };
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
}

interface SyncWriteHandle extends SyncReadHandle {
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
}

/** A download sink on a FileSystemSyncAccessHandle, flushed every COMMIT_BYTES; undefined where
 *  the context has none (a page's main thread). */
async function openSyncWriter(
  fh: FileSystemFileHandle,
  offset: number,
  url: string,
): Promise<
  { write(b: Uint8Array): Promise<void>; close(): Promise<void>; abort(): Promise<void> } | undefined
> {
  const open = (fh as { createSyncAccessHandle?: () => Promise<SyncWriteHandle> }).createSyncAccessHandle;
  if (!open) return undefined;
  let h: SyncWriteHandle;
  try {
    h = await open.call(fh);
    h.truncate(offset);
  } catch (e) {
    throw quotaOr(e, url);
  }
  let at = offset;
  let sinceFlush = 0;
  const guard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw quotaOr(e, url);
    }
  };
  return {
    async write(b) {
      for (let done = 0; done < b.length;) {
        const n = guard(() => h.write(b.subarray(done), { at: at + done }));
        if (n <= 0) throw quotaOr(new DOMException("short write", "QuotaExceededError"), url);
        done += n;
      }
      at += b.length;
      sinceFlush += b.length;
      if (sinceFlush >= COMMIT_BYTES) {
        guard(() => h.flush());
        sinceFlush = 0;
      }
    },
    async close() {
      guard(() => {
        h.flush();
        h.close();
      });
    },
    async abort() {
      h.close();
    },
  };
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
