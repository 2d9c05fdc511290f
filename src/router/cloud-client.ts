/**
 * Client for any OpenAI-compatible chat endpoint (vLLM, SGLang, llama.cpp server, OpenAI, another
 * edgellm): POST {base}/chat/completions, JSON or SSE streaming. Each call:
 *   - refuses at once when the circuit breaker is open (CloudError kind circuit_open);
 *   - runs up to 1 + maxRetries attempts; 429/408/5xx and network errors are retried after
 *     jittered exponential backoff or the server's Retry-After, never past the call's deadline;
 *   - bounds every attempt by `timeoutMs` (whole JSON answer, or the response headers of a stream)
 *     and a stream by `streamIdleMs` between chunks, so nothing waits forever;
 *   - counts one breaker success/failure for the whole call (4xx is the request's fault: success).
 * Bad answers become a CloudError with the kind, HTTP status, attempts and the endpoint URL.
 */
import { CircuitBreaker, DEFAULT_BREAKER, type BreakerOptions } from "./breaker.js";
import { DEFAULT_BACKOFF, isRetryableStatus, nextDelay, type BackoffOptions } from "./backoff.js";
import { CloudError, type CloudFailureKind } from "./errors.js";
import { readSseData, SseIdleTimeout } from "./sse-reader.js";

export interface CloudClientOptions {
  /** Base URL of the OpenAI-compatible API, with or without the trailing /v1 (http://host:8000/v1). */
  baseUrl: string;
  /** Model name the cloud serves (vLLM: the name given to `vllm serve`, or --served-model-name). */
  model: string;
  /** Bearer token (read from an environment variable by the CLI, never from a file). */
  apiKey?: string;
  /** Per-attempt limit in ms: the whole JSON answer, or a stream's response headers (default 30 s). */
  timeoutMs?: number;
  /** Largest gap between two stream chunks in ms (default 15 s). */
  streamIdleMs?: number;
  /** Retries after the first attempt (default 2). */
  maxRetries?: number;
  backoff?: Partial<BackoffOptions>;
  breaker?: Partial<BreakerOptions>;
  /** Injection points for tests: fetch, randomness of the jitter, clock of the breaker. */
  fetch?: typeof fetch;
  random?: () => number;
  now?: () => number;
}

export interface CloudCallOptions {
  signal?: AbortSignal;
  /** Overall budget for this call in ms from now (retries included); default: unlimited. */
  budgetMs?: number;
}

export interface CloudJson {
  status: number;
  /** The parsed chat.completion object. */
  body: Record<string, unknown>;
  attempts: number;
  latencyMs: number;
}

export interface CloudStream {
  attempts: number;
  /** Headers-received latency. */
  latencyMs: number;
  /** Raw `data:` payloads (JSON chunk text, then "[DONE]"). Throws CloudError on stall or a broken stream. */
  events: AsyncGenerator<string>;
}

/** base URL -> ".../v1" without a trailing slash. */
export function normalizeBaseUrl(u: string): string {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    throw new CloudError(`cloud URL '${u}' is not a valid URL`, "unreachable", undefined, 0, {
      field: "cloud",
      hint: "e.g. http://127.0.0.1:8000/v1",
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CloudError(`cloud URL '${u}' must be http(s)`, "unreachable", undefined, 0, { field: "cloud" });
  let s = url.toString().replace(/\/+$/, "");
  if (!s.endsWith("/v1")) s += "/v1";
  return s;
}

export class CloudClient {
  readonly url: string;
  readonly model: string;
  readonly breaker: CircuitBreaker;
  private readonly apiKey?: string;
  private readonly timeoutMs: number;
  private readonly streamIdleMs: number;
  private readonly maxRetries: number;
  private readonly backoff: BackoffOptions;
  private readonly fetchFn: typeof fetch;
  private readonly random: () => number;

  constructor(o: CloudClientOptions) {
    this.url = `${normalizeBaseUrl(o.baseUrl)}/chat/completions`;
    this.model = o.model;
    this.apiKey = o.apiKey;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.streamIdleMs = o.streamIdleMs ?? 15_000;
    this.maxRetries = o.maxRetries ?? 2;
    this.backoff = { ...DEFAULT_BACKOFF, ...o.backoff };
    this.breaker = new CircuitBreaker({ ...DEFAULT_BREAKER, ...o.breaker }, o.now);
    this.fetchFn = o.fetch ?? fetch;
    this.random = o.random ?? Math.random;
  }

  /** Non-streaming chat completion. `body` is an OpenAI request; its model is replaced by ours. */
  async chat(body: Record<string, unknown>, opts: CloudCallOptions = {}): Promise<CloudJson> {
    const t0 = performance.now();
    const { res, attempts, release } = await this.send(
      { ...body, model: this.model, stream: false },
      opts,
      true,
    );
    try {
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw this.fail(`cloud answer is not JSON: ${text.slice(0, 120)}`, "protocol", res.status, attempts);
      }
      const p = parsed as Record<string, unknown>;
      if (typeof p !== "object" || p === null || !Array.isArray(p.choices))
        throw this.fail("cloud answer has no 'choices' array", "protocol", res.status, attempts);
      this.breaker.onSuccess();
      return { status: res.status, body: p, attempts, latencyMs: performance.now() - t0 };
    } catch (e) {
      throw this.classify(e, attempts);
    } finally {
      release();
    }
  }

  /** Streaming chat completion: resolves once the response headers are in (after retries). */
  async chatStream(body: Record<string, unknown>, opts: CloudCallOptions = {}): Promise<CloudStream> {
    const t0 = performance.now();
    const { res, attempts, release } = await this.send(
      { ...body, model: this.model, stream: true },
      opts,
      false,
    );
    release();
    const latencyMs = performance.now() - t0;
    if (!res.body) throw this.fail("cloud stream has no body", "protocol", res.status, attempts);
    this.breaker.onSuccess();
    const self = this;
    async function* events(): AsyncGenerator<string> {
      try {
        yield* readSseData(res.body!, self.streamIdleMs, opts.signal);
      } catch (e) {
        if (e instanceof SseIdleTimeout)
          throw self.fail(`cloud stream stalled: ${e.message}`, "timeout", res.status, attempts);
        throw self.classify(e, attempts);
      }
    }
    return { attempts, latencyMs, events: events() };
  }

  /**
   * The attempt loop. Resolves with a 2xx response; `release` clears the attempt's timer (kept
   * running while a JSON body is read when `timeBody`).
   */
  private async send(
    payload: Record<string, unknown>,
    opts: CloudCallOptions,
    timeBody: boolean,
  ): Promise<{ res: Response; attempts: number; release: () => void }> {
    if (!this.breaker.tryAcquire()) {
      throw new CloudError(
        `cloud circuit open after repeated failures; next trial in ${Math.ceil(this.breaker.retryInMs())} ms`,
        "circuit_open",
        undefined,
        0,
        { file: this.url },
      );
    }
    const deadline = opts.budgetMs === undefined ? Infinity : performance.now() + opts.budgetMs;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: timeBody ? "application/json" : "text/event-stream",
    };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const json = JSON.stringify(payload);
    let last: { msg: string; kind: CloudFailureKind; status?: number; attempts: number } | undefined;
    let attempt = 0;
    for (; attempt <= this.maxRetries; attempt++) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      const ac = new AbortController();
      let timedOut = false;
      const timer = setTimeout(
        () => {
          timedOut = true;
          ac.abort();
        },
        Math.min(this.timeoutMs, left),
      );
      const onAbort = () => ac.abort();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const release = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
      };
      let res: Response;
      try {
        res = await this.fetchFn(this.url, { method: "POST", headers, body: json, signal: ac.signal });
      } catch (e) {
        release();
        if (opts.signal?.aborted) {
          this.breaker.release();
          throw new CloudError("cloud call aborted by the caller", "aborted", undefined, attempt + 1, {
            file: this.url,
          });
        }
        last = timedOut
          ? {
              msg: `cloud did not answer within ${Math.round(Math.min(this.timeoutMs, left))} ms`,
              kind: "timeout",
              attempts: attempt + 1,
            }
          : { msg: `cloud unreachable: ${causeText(e)}`, kind: "unreachable", attempts: attempt + 1 };
        if (!(await this.pause(attempt, null, deadline, opts.signal))) break;
        continue;
      }
      if (res.ok) {
        if (!timeBody) release();
        return { res, attempts: attempt + 1, release };
      }
      const errText = await res.text().catch(() => "");
      release();
      last = {
        msg: `cloud answered HTTP ${res.status}: ${errorMessage(errText)}`,
        kind: "http",
        status: res.status,
        attempts: attempt + 1,
      };
      if (!isRetryableStatus(res.status))
        throw this.finalFail(
          new CloudError(last.msg, "http", res.status, last.attempts, { file: this.url }),
          false,
        );
      if (!(await this.pause(attempt, res.headers.get("retry-after"), deadline, opts.signal))) break;
    }
    last ??= { msg: "cloud call budget spent before the first attempt", kind: "timeout", attempts: 0 };
    const tries = `after ${last.attempts} attempt${last.attempts === 1 ? "" : "s"}`;
    throw this.finalFail(
      new CloudError(`${last.msg} (${tries})`, last.kind, last.status, last.attempts, { file: this.url }),
      true,
    );
  }

  /** Sleep before retry `attempt + 1`; false when no retry is left or it would pass the deadline. */
  private async pause(
    attempt: number,
    retryAfter: string | null,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    if (attempt >= this.maxRetries) return false;
    const wait = nextDelay(attempt, retryAfter, this.backoff, this.random);
    if (performance.now() + wait >= deadline) return false;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, wait);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    });
    return !signal?.aborted;
  }

  private finalFail(e: CloudError, endpointFault: boolean): CloudError {
    if (endpointFault) this.breaker.onFailure();
    else this.breaker.onSuccess();
    return e;
  }

  private fail(
    message: string,
    kind: CloudFailureKind,
    status: number | undefined,
    attempts: number,
  ): CloudError {
    return this.finalFail(
      new CloudError(message, kind, status, attempts, { file: this.url }),
      kind !== "aborted",
    );
  }

  private classify(e: unknown, attempts: number): CloudError {
    if (e instanceof CloudError) return e;
    const name = (e as Error)?.name;
    if (name === "AbortError")
      return this.fail(
        "cloud call aborted or timed out while reading the answer",
        "timeout",
        undefined,
        attempts,
      );
    return this.fail(`cloud connection failed: ${causeText(e)}`, "unreachable", undefined, attempts);
  }
}

function causeText(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
}

/** The message of an OpenAI error body, or the start of the text. */
function errorMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof j.error === "string") return j.error;
    if (j.error?.message) return j.error.message;
    if (j.message) return j.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 200) || "(empty body)";
}
