/**
 * Client for any OpenAI-compatible chat endpoint (vLLM, SGLang, llama.cpp server, OpenAI, another
 * edgellm), on the official `openai` SDK: it sends the request, retries 429/408/5xx and network
 * errors, parses errors and the SSE stream. Ours around it:
 *   - the circuit breaker: a call is refused at once when it is open (CloudError kind
 *     circuit_open), and each call counts one success/failure (4xx is the request's fault: success);
 *   - the retry rule and delay of the routing policy (backoff.ts: jittered exponential backoff or
 *     the server's longer Retry-After, no retry on 501, no retry whose wait would pass the call's
 *     deadline). The SDK's own backoff (0.5 s doubling to 8 s) does not know the router's latency
 *     budget, so our fetch tells it per answer through the two headers it reads, `x-should-retry`
 *     and `retry-after-ms`. After a network error the SDK waits its own delay; the deadline
 *     (an abort signal) still bounds the call;
 *   - per-attempt `timeoutMs` (the SDK's timeout, up to the response headers; a JSON body must
 *     then arrive within the same time), `streamIdleMs` between stream chunks, `budgetMs` for the
 *     whole call, so nothing waits forever;
 *   - CloudError with the kind, HTTP status, attempts and endpoint URL.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import { CircuitBreaker, DEFAULT_BREAKER, type BreakerOptions } from "./breaker.js";
import { DEFAULT_BACKOFF, isRetryableStatus, nextDelay, type BackoffOptions } from "./backoff.js";
import { CloudError, type CloudFailureKind } from "./errors.js";

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
  /** `data:` payloads (JSON chunk text, then "[DONE]"). Throws CloudError on stall or a broken stream. */
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

/** One call's state, shared with its fetch: attempts made, the deadline, why the body timer fired. */
interface Call {
  attempts: number;
  deadline: number;
  /** Aborts the call: the caller's signal, the budget, or the JSON body's timer. */
  ac: AbortController;
  why?: "budget" | "body";
  timers: ReturnType<typeof setTimeout>[];
  cleanup?: () => void;
}

type ChatBody = OpenAI.Chat.ChatCompletionCreateParams;

export class CloudClient {
  readonly url: string;
  readonly model: string;
  readonly breaker: CircuitBreaker;
  private readonly api: OpenAI;
  private readonly apiKey?: string;
  private readonly timeoutMs: number;
  private readonly streamIdleMs: number;
  private readonly maxRetries: number;
  private readonly backoff: BackoffOptions;
  private readonly fetchFn: typeof fetch;
  private readonly random: () => number;

  constructor(o: CloudClientOptions) {
    const base = normalizeBaseUrl(o.baseUrl);
    this.url = `${base}/chat/completions`;
    this.model = o.model;
    this.apiKey = o.apiKey;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.streamIdleMs = o.streamIdleMs ?? 15_000;
    this.maxRetries = o.maxRetries ?? 2;
    this.backoff = { ...DEFAULT_BACKOFF, ...o.backoff };
    this.breaker = new CircuitBreaker({ ...DEFAULT_BREAKER, ...o.breaker }, o.now);
    this.fetchFn = o.fetch ?? fetch;
    this.random = o.random ?? Math.random;
    // organization/project null: OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment are not ours to send.
    this.api = new OpenAI({
      baseURL: base,
      apiKey: o.apiKey ?? "unused",
      organization: null,
      project: null,
      maxRetries: this.maxRetries,
      logLevel: "off",
    });
  }

  /** Non-streaming chat completion. `body` is an OpenAI request; its model is replaced by ours. */
  async chat(body: Record<string, unknown>, opts: CloudCallOptions = {}): Promise<CloudJson> {
    const t0 = performance.now();
    const call = this.start(opts);
    try {
      const payload = { ...body, model: this.model, stream: false } as ChatBody;
      const { data, response } = await this.client(call, true)
        .chat.completions.create(payload, this.requestOptions(call))
        .withResponse();
      const p = data as unknown as Record<string, unknown>;
      if (typeof p !== "object" || p === null || !Array.isArray(p.choices))
        throw this.fail(
          typeof p === "string"
            ? `cloud answer is not JSON: ${(p as string).slice(0, 120)}`
            : "cloud answer has no 'choices' array",
          "protocol",
          response.status,
          call.attempts,
        );
      this.breaker.onSuccess();
      return { status: response.status, body: p, attempts: call.attempts, latencyMs: performance.now() - t0 };
    } catch (e) {
      throw this.classify(e, call, opts);
    } finally {
      this.end(call);
    }
  }

  /** Streaming chat completion: resolves once the response headers are in (after retries). */
  async chatStream(body: Record<string, unknown>, opts: CloudCallOptions = {}): Promise<CloudStream> {
    const t0 = performance.now();
    const call = this.start(opts);
    let stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk> & { controller: AbortController };
    let status: number;
    try {
      const payload = { ...body, model: this.model, stream: true } as ChatBody;
      const r = await this.client(call, false)
        .chat.completions.create(payload, this.requestOptions(call))
        .withResponse();
      stream = r.data as typeof stream;
      status = r.response.status;
    } catch (e) {
      this.end(call);
      throw this.classify(e, call, opts);
    }
    this.end(call);
    this.breaker.onSuccess();
    const latencyMs = performance.now() - t0;
    const self = this;
    async function* events(): AsyncGenerator<string> {
      const it = stream[Symbol.asyncIterator]();
      const onAbort = () => stream.controller.abort();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        for (;;) {
          const r = await withIdleLimit(it.next(), self.streamIdleMs, () => stream.controller.abort());
          if (r === "idle")
            throw self.fail(
              `cloud stream stalled: no stream data for ${self.streamIdleMs} ms`,
              "timeout",
              status,
              call.attempts,
            );
          if (r.done) break;
          yield JSON.stringify(r.value);
        }
        yield "[DONE]";
      } catch (e) {
        throw self.classify(e, call, opts);
      } finally {
        opts.signal?.removeEventListener("abort", onAbort);
        stream.controller.abort(); // a consumer that stops early closes the connection
      }
    }
    return { attempts: call.attempts, latencyMs, events: events() };
  }

  /** Breaker admission, the call's deadline and its abort controller. */
  private start(opts: CloudCallOptions): Call {
    if (!this.breaker.tryAcquire()) {
      throw new CloudError(
        `cloud circuit open after repeated failures; next trial in ${Math.ceil(this.breaker.retryInMs())} ms`,
        "circuit_open",
        undefined,
        0,
        { file: this.url },
      );
    }
    const call: Call = {
      attempts: 0,
      deadline: opts.budgetMs === undefined ? Infinity : performance.now() + opts.budgetMs,
      ac: new AbortController(),
      timers: [],
    };
    if (opts.budgetMs !== undefined && opts.budgetMs <= 0) {
      this.breaker.release();
      throw new CloudError("cloud call budget spent before the first attempt", "timeout", undefined, 0, {
        file: this.url,
      });
    }
    const abort = (why?: Call["why"]) => {
      call.why ??= why;
      call.ac.abort();
    };
    const onAbort = () => abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    call.cleanup = () => opts.signal?.removeEventListener("abort", onAbort);
    if (opts.signal?.aborted) abort();
    if (opts.budgetMs !== undefined) call.timers.push(setTimeout(() => abort("budget"), opts.budgetMs));
    return call;
  }

  private end(call: Call): void {
    for (const t of call.timers) clearTimeout(t);
    call.cleanup?.();
  }

  /** The SDK's per-request options: the call's signal and the attempt timeout (within the budget). */
  private requestOptions(call: Call): OpenAI.RequestOptions {
    const left = call.deadline - performance.now();
    return { signal: call.ac.signal, timeout: Math.max(1, Math.round(Math.min(this.timeoutMs, left))) };
  }

  /** The SDK client for one call: its fetch counts attempts, applies our retry rule, times JSON bodies. */
  private client(call: Call, timeBody: boolean): OpenAI {
    return this.api.withOptions({
      fetch: async (url: string | URL | Request, init?: RequestInit) => {
        call.attempts++;
        const headers = new Headers(init?.headers);
        if (!this.apiKey) headers.delete("authorization");
        const res = await this.fetchFn(url, { ...init, headers });
        if (!res.ok) return this.withRetryRule(res, call);
        if (timeBody) {
          // a JSON answer must be whole within the attempt's time too
          const abort = () => {
            call.why ??= "body";
            call.ac.abort();
          };
          call.timers.push(setTimeout(abort, this.timeoutMs));
        }
        return res;
      },
    });
  }

  /** A non-2xx answer with our retry decision and delay in the headers the SDK obeys. */
  private withRetryRule(res: Response, call: Call): Response {
    const h = new Headers(res.headers);
    const wait = nextDelay(call.attempts - 1, res.headers.get("retry-after"), this.backoff, this.random);
    const retry =
      isRetryableStatus(res.status) &&
      call.attempts <= this.maxRetries &&
      performance.now() + wait < call.deadline;
    h.delete("retry-after");
    h.set("x-should-retry", String(retry));
    h.set("retry-after-ms", String(wait));
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: h });
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

  /** Any failure of a call -> CloudError (counted once by the breaker). */
  private classify(e: unknown, call: Call, opts: CloudCallOptions): CloudError {
    if (e instanceof CloudError) return e;
    const n = call.attempts;
    const tries = `after ${n} attempt${n === 1 ? "" : "s"}`;
    if (opts.signal?.aborted) {
      this.breaker.release();
      return new CloudError("cloud call aborted by the caller", "aborted", undefined, n, { file: this.url });
    }
    if (call.why === "budget")
      return this.fail(`cloud call budget spent (${tries})`, "timeout", undefined, n);
    if (call.why === "body")
      return this.fail(`cloud answer not complete within ${this.timeoutMs} ms`, "timeout", undefined, n);
    if (e instanceof APIConnectionTimeoutError)
      return this.fail(
        `cloud did not answer within ${this.timeoutMs} ms (${tries})`,
        "timeout",
        undefined,
        n,
      );
    if (e instanceof APIConnectionError)
      return this.fail(
        `cloud unreachable: ${causeText(e.cause ?? e)} (${tries})`,
        "unreachable",
        undefined,
        n,
      );
    if (e instanceof APIError && e.status !== undefined) {
      const body = e.error as { message?: unknown } | undefined;
      const msg = typeof body?.message === "string" ? body.message : e.message;
      const retryable = isRetryableStatus(e.status);
      return this.finalFail(
        new CloudError(
          `cloud answered HTTP ${e.status}: ${msg}${retryable ? ` (${tries})` : ""}`,
          "http",
          e.status,
          n,
          { file: this.url },
        ),
        retryable || e.status >= 500,
      );
    }
    if (e instanceof APIError || e instanceof SyntaxError)
      return this.fail(
        `cloud answer is not OpenAI-shaped: ${(e as Error).message}`,
        "protocol",
        undefined,
        n,
      );
    return this.fail(`cloud connection failed: ${causeText(e)}`, "unreachable", undefined, n);
  }
}

/** `p`, or "idle" (after calling `onIdle`) when it has not settled within `ms`. */
function withIdleLimit<T>(p: Promise<T>, ms: number, onIdle: () => void): Promise<T | "idle"> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<"idle">((resolve) => {
    t = setTimeout(() => {
      onIdle();
      resolve("idle");
    }, ms);
  });
  p.catch(() => {}); // settled after an idle abort: nobody waits for it any more
  return Promise.race([p, idle]).finally(() => clearTimeout(t));
}

function causeText(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
}
