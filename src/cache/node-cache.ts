/**
 * Models downloaded from URLs into a cache directory (Node): `edgellm pull <url>` and `-m <url>`.
 *
 *   const cache = new NodeModelCache();                 // $EDGELLM_CACHE or ~/.cache/edgellm
 *   const m = await cache.download(url, { onProgress: (p) => bar(p.loaded, p.total) });
 *   const llm = await loadLLM(cache.path(m.key));
 *
 * Layout: `<dir>/models/<key>.gguf` (complete files only), `<key>.gguf.part` (a download in
 * progress or interrupted) and `<key>.json` (url, size, etag, complete, sha256). Keys come from
 * cache/common.ts (file name + hash of the URL), as in the browser's OPFS cache. Every chunk is
 * written to the .part file as it arrives, so a killed process or a cut connection keeps what it
 * got and the next download resumes with `Range: bytes=<have>-` (`If-Range: <etag>`: a file that
 * changed on the server restarts from 0, as does a server that ignores Range). The download
 * itself (retries, Range, checks: size, GGUF magic, sha256) is cache/download.ts, shared with the
 * browser cache; this file is its storage: a full disk (ENOSPC/EDQUOT) is a typed "quota" error.
 * A complete entry is used with no request at all. `<key>.lock` keeps two processes from
 * downloading the same URL at once.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
  type FileHandle,
} from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  cacheKey,
  fetchFailedError,
  isHttpUrl,
  ModelDownloadError,
  type CachedModel,
  type DownloadOptions,
} from "./common.js";
import { resumableDownload, type DownloadStore } from "./download.js";

export interface NodeModelCacheOptions {
  /** Cache root (default: $EDGELLM_CACHE, else $XDG_CACHE_HOME/edgellm, else ~/.cache/edgellm). */
  dir?: string;
  fetch?: typeof fetch;
}

/** The cache root: $EDGELLM_CACHE, else $XDG_CACHE_HOME/edgellm, else ~/.cache/edgellm. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EDGELLM_CACHE) return env.EDGELLM_CACHE;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "edgellm");
  return join(homedir(), ".cache", "edgellm");
}

export class NodeModelCache {
  /** Directory holding the models (`<root>/models`). */
  readonly dir: string;
  private readonly fetchFn: typeof fetch;

  constructor(opts: NodeModelCacheOptions = {}) {
    this.dir = join(opts.dir ?? defaultCacheDir(), "models");
    this.fetchFn = opts.fetch ?? ((...a) => fetch(...a));
  }

  /** Path of a complete model's file. */
  path(key: string): string {
    return join(this.dir, `${key}.gguf`);
  }

  private partPath(key: string): string {
    return join(this.dir, `${key}.gguf.part`);
  }

  private metaPath(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  private async readMeta(key: string): Promise<CachedModel | undefined> {
    try {
      return JSON.parse(await readFile(this.metaPath(key), "utf8")) as CachedModel;
    } catch {
      return undefined;
    }
  }

  private async writeMeta(m: CachedModel): Promise<void> {
    const tmp = `${this.metaPath(m.key)}.tmp`;
    await writeFile(tmp, JSON.stringify(m, null, 1));
    await rename(tmp, this.metaPath(m.key));
  }

  /** Every model in the cache, complete or partial, newest first, with the bytes stored. */
  async list(): Promise<CachedModel[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: CachedModel[] = [];
    for (const n of names) {
      if (!n.endsWith(".json")) continue;
      const m = await this.readMeta(n.slice(0, -5));
      if (!m) continue;
      m.stored = await sizeOf(m.complete ? this.path(m.key) : this.partPath(m.key));
      out.push(m);
    }
    return out.sort((a, b) => b.savedAt - a.savedAt);
  }

  /** The entry for a URL or key, complete or partial. */
  async get(urlOrKey: string): Promise<CachedModel | undefined> {
    return this.readMeta(isHttpUrl(urlOrKey) ? cacheKey(urlOrKey) : urlOrKey);
  }

  /** Remove a model (by URL or key), complete or partial; false when there was none. */
  async delete(urlOrKey: string): Promise<boolean> {
    const key = isHttpUrl(urlOrKey) ? cacheKey(urlOrKey) : urlOrKey;
    const had = (await this.readMeta(key)) !== undefined;
    for (const p of [this.path(key), this.partPath(key), this.metaPath(key)]) await rm(p, { force: true });
    return had;
  }

  /**
   * Download `url` into the cache, or return the complete cached copy without any request.
   * Resumes a partial download; retries network failures with backoff, resuming each time.
   */
  async download(url: string, opts: DownloadOptions = {}): Promise<CachedModel> {
    const key = cacheKey(url);
    await mkdir(this.dir, { recursive: true });
    const have = await this.readMeta(key);
    if (have?.complete && have.url === url) {
      const size = await sizeOf(this.path(key));
      if (size === have.size) {
        opts.onProgress?.({ phase: "cached", loaded: size, total: size, fetched: 0 });
        return { ...have, stored: size };
      }
    }
    const release = await this.lock(key, url);
    try {
      if (!(have?.url === url && !have.complete)) await rm(this.partPath(key), { force: true });
      return await resumableDownload(url, key, this.store(key), opts, this.fetchFn);
    } finally {
      await release();
    }
  }

  /**
   * `<key>.lock` (O_EXCL, holding the pid) so two pulls of one URL never write the same .part; a
   * lock whose process is gone (killed mid-download) is taken over.
   */
  private async lock(key: string, url: string): Promise<() => Promise<void>> {
    const p = join(this.dir, `${key}.lock`);
    for (let i = 0; i < 3; i++) {
      try {
        await writeFile(p, String(process.pid), { flag: "wx" });
        return () => rm(p, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw diskOr(e, url);
      }
      const pid = Number(await readFile(p, "utf8").catch(() => ""));
      if (pid > 0 && isAlive(pid))
        throw new ModelDownloadError(
          "busy",
          `another download of this model is running (process ${pid})`,
          url,
          `wait for it, or remove ${p} if that process is not edgellm`,
        );
      await rm(p, { force: true }); // stale: its process is gone
    }
    throw new ModelDownloadError("busy", "cannot take the download lock", url, `remove ${p}`);
  }

  /** The entry's storage for the shared download: `<key>.gguf.part` until it is checked and renamed. */
  private store(key: string): DownloadStore {
    const part = this.partPath(key);
    return {
      readMeta: () => this.readMeta(key),
      writeMeta: (m) => this.writeMeta(m),
      storedSize: () => sizeOf(part),
      open: async (offset, url) => {
        let fh: FileHandle;
        try {
          fh = await open(part, offset === 0 ? "w" : "r+");
          await fh.truncate(offset);
        } catch (e) {
          throw diskOr(e, url);
        }
        let at = offset;
        return {
          async write(b) {
            try {
              for (let done = 0; done < b.length;) {
                const { bytesWritten } = await fh.write(b, done, b.length - done, at + done);
                done += bytesWritten;
              }
            } catch (e) {
              throw diskOr(e, url);
            }
            at += b.length;
          },
          close: () => fh.close(),
          abort: () => fh.close(),
        };
      },
      head: async (n) => {
        const head = new Uint8Array(n);
        const fh = await open(part, "r");
        try {
          await fh.read(head, 0, n, 0);
        } finally {
          await fh.close();
        }
        return head;
      },
      sha256: () => sha256File(part),
      commit: () => rename(part, this.path(key)),
      remove: async () => {
        await this.delete(key);
      },
      fetchFailed: async (url, e) => fetchFailedError(url, e),
      resumeHint: "run the same command again: it resumes from there",
    };
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function sizeOf(p: string): Promise<number> {
  try {
    return (await stat(p)).size;
  } catch {
    return 0;
  }
}

function sha256File(p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(p)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

function diskOr(e: unknown, url: string): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOSPC" || code === "EDQUOT")
    return new ModelDownloadError(
      "quota",
      `the disk is full (${code}) while writing the model`,
      url,
      "free disk space or point EDGELLM_CACHE at a larger disk; the next pull resumes",
    );
  return e instanceof Error ? e : new Error(String(e));
}
