/**
 * What the browser model cache (web/model-cache.ts, OPFS) and the Node one (cache/node-cache.ts,
 * a directory) share: the cache key of a URL, the typed download error, progress events, the
 * reading of a (ranged) download response and the GGUF magic check on the first bytes of a body.
 */
import { EdgeLLMError } from "../errors.js";
import { splitPartNames } from "../gguf/split-name.js";

export type DownloadErrorCode =
  | "not-found"
  | "http"
  | "network"
  | "cors"
  | "quota"
  | "not-gguf"
  | "size"
  | "sha256"
  | "aborted"
  | "busy"
  | "no-opfs";

/** A download or cache failure; `code` says which, for a UI message or an exit status. */
export class ModelDownloadError extends EdgeLLMError {
  constructor(
    readonly code: DownloadErrorCode,
    message: string,
    readonly url?: string,
    hint?: string,
  ) {
    super(message, { file: url, hint });
  }
}

export interface DownloadProgress {
  phase: "download" | "verify" | "cached";
  /** Bytes present locally (resumed bytes included) and the file's size (0 until known). */
  loaded: number;
  total: number;
  /** Bytes that came over the network in this call. */
  fetched: number;
  /** Set when this call resumed a partial download at that offset. */
  resumedFrom?: number;
}

export interface DownloadOptions {
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Expected lower-case hex sha256 of the whole file. */
  sha256?: string;
  headers?: Record<string, string>;
}

export interface CachedModel {
  key: string;
  url: string;
  /** File size, 0 while unknown. */
  size: number;
  /** Bytes stored (== size when complete). */
  stored: number;
  complete: boolean;
  etag?: string;
  sha256?: string;
  savedAt: number;
}

/** Network failures retried (resuming each time) before the error reaches the caller. */
export const DOWNLOAD_RETRIES = 3;

/** "GGUF" */
export const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46];

export function hasGGUFMagic(head: Uint8Array): boolean {
  return GGUF_MAGIC.every((m, i) => head[i] === m);
}

/**
 * Cache key of a URL: its file name plus a 32-bit FNV-1a hash of the whole URL. The parts of a
 * split model (`x-00002-of-00003.gguf`) share the hash of the first part's URL and keep the split
 * suffix, so cached parts sit side by side under split names (`x-<hash>-00002-of-00003.gguf`) and
 * opening the first finds the others.
 */
export function cacheKey(url: string): string {
  const parts = splitPartNames(url);
  const hashed = parts ? parts[0]! : url;
  let h = 0x811c9dc5;
  for (let i = 0; i < hashed.length; i++) h = Math.imul(h ^ hashed.charCodeAt(i), 0x01000193) >>> 0;
  const hex = h.toString(16).padStart(8, "0");
  const file = url.split(/[?#]/)[0]!.split("/").pop() || "model";
  const split = parts ? /-(\d{5}-of-\d{5})\.gguf$/i.exec(file) : null;
  const base = (split ? file.slice(0, split.index) : file.replace(/\.gguf$/i, ""))
    .replace(/[^\w.-]+/g, "_")
    .slice(0, 80);
  return split ? `${base}-${hex}-${split[1]}` : `${base}-${hex}`;
}

export function notGGUFError(url: string): ModelDownloadError {
  return new ModelDownloadError(
    "not-gguf",
    "this is not a GGUF file (its first bytes are not 'GGUF')",
    url,
    "check that the URL points at the .gguf file itself (on Hugging Face: a /resolve/ URL, not /blob/)",
  );
}

export function notFoundError(url: string): ModelDownloadError {
  return new ModelDownloadError("not-found", "model not found (HTTP 404)", url, "check the URL");
}

/** The fetch itself failed: no response at all (offline, DNS, refused, or CORS in a browser). */
export function fetchFailedError(url: string, e: unknown): ModelDownloadError {
  return new ModelDownloadError(
    "network",
    `cannot fetch the model: ${(e as Error)?.message ?? String(e)}`,
    url,
    "the network failed, or the server does not allow this origin (CORS: it must send Access-Control-Allow-Origin)",
  );
}

/** Start of a 206 answer's Content-Range and the total size, or undefined when malformed. */
export function parseContentRange(v: string | null): { start: number; total: number } | undefined {
  const m = /bytes (\d+)-\d+\/(\d+)/.exec(v ?? "");
  return m ? { start: Number(m[1]), total: Number(m[2]) } : undefined;
}

/** Is `s` an http(s) URL (what `-m` and `pull` download) rather than a path? */
export function isHttpUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/**
 * A download response read against the byte offset it asked from (`Range: bytes=<offset>-`):
 * 404 and other statuses are typed errors, a 206 must resume exactly at `offset`, a 200 starts
 * again from 0 (no Range support, or the file changed under If-Range). The body is cancelled
 * before an error is thrown. A 416 (already complete) is the caller's to handle first.
 */
export async function readRangeResponse(
  res: Response,
  url: string,
  offset: number,
): Promise<{ offset: number; total: number; resumedFrom: number | undefined }> {
  const fail = async (e: ModelDownloadError): Promise<never> => {
    await res.body?.cancel();
    throw e;
  };
  if (res.status === 404) return fail(notFoundError(url));
  if (res.status !== 200 && res.status !== 206)
    return fail(
      new ModelDownloadError("http", `the server answered HTTP ${res.status} ${res.statusText}`, url),
    );
  if (res.status === 200)
    return { offset: 0, total: Number(res.headers.get("content-length") ?? 0), resumedFrom: undefined };
  const cr = parseContentRange(res.headers.get("content-range"));
  if (!cr || cr.start !== offset)
    return fail(
      new ModelDownloadError(
        "http",
        `bad Content-Range '${res.headers.get("content-range")}' for a request from ${offset}`,
        url,
      ),
    );
  return { offset, total: cr.total, resumedFrom: offset };
}
