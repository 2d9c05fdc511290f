/**
 * Retry timing: exponential backoff with full jitter (delay = random in [0, min(max, base * 2^k)]),
 * overridden by the server's Retry-After header (seconds or an HTTP date) when it names a longer
 * wait, and capped so that one retry never waits longer than `maxMs`.
 */

export interface BackoffOptions {
  /** First retry's ceiling in ms (default 200). */
  baseMs: number;
  /** Largest wait between two attempts in ms (default 5000). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, maxMs: 5000 };

/** Delay before retry number `retry` (0 = the first retry). `rand` in [0, 1). */
export function backoffDelay(retry: number, opts: BackoffOptions, rand: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(retry, 30));
  return Math.floor(rand() * ceiling);
}

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns ms to wait, or
 * undefined when absent or unparseable (then our own backoff applies).
 */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - nowMs);
}

/** The wait before the next attempt: Retry-After when the server gave one, else jittered backoff; both capped. */
export function nextDelay(
  retry: number,
  retryAfter: string | null | undefined,
  opts: BackoffOptions,
  rand: () => number = Math.random,
  nowMs = Date.now(),
): number {
  const ra = parseRetryAfter(retryAfter, nowMs);
  const own = backoffDelay(retry, opts, rand);
  return Math.min(opts.maxMs, ra === undefined ? own : Math.max(ra, own));
}

/** HTTP statuses worth retrying: rate limited, and server-side failures (not 501: retrying cannot help). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501);
}
