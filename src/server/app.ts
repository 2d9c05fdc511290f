/**
 * The OpenAI-compatible HTTP server (fastify): /v1/chat/completions, /v1/completions,
 * /v1/models, /health, /metrics. Edge rules: API key (401), body size limit (413), malformed JSON
 * and invalid fields (400, OpenAI error body), unknown model (400), prompt over the context (400),
 * too many requests queued (429), draining (503).
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { LLM } from "../engine/llm.js";
import { InputError } from "../errors.js";
import { ApiError, badRequest, toApiError } from "./openai/errors.js";
import { Metrics } from "./metrics.js";
import { registerChat } from "./routes/chat.js";
import { registerCompletions } from "./routes/completions.js";
import type { SseWriter } from "./sse.js";

export interface ServerOptions {
  /** Required `Authorization: Bearer <key>` on /v1/* when set. */
  apiKey?: string;
  /** Model id clients must name (default: the LLM's name). */
  modelId?: string;
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /**
   * Sequences allowed to wait for a free slot (beyond the `parallel` running ones) before new
   * requests get 429 (default 64; 0 = never queue: a request that cannot start at once is refused).
   */
  maxQueue?: number;
  logger?: boolean;
}

export interface ServerContext {
  llm: LLM;
  metrics: Metrics;
  models: string[];
  /** Check a tokenized prompt fits and the queue has room; returns it. Throws ApiError. */
  admit(prompt: number[], n: number): number[];
  streamError(sse: SseWriter, e: unknown, endpoint: string): void;
}

export interface EdgeServer {
  app: FastifyInstance;
  ctx: ServerContext;
  /** Stop accepting requests, let running ones finish, then close. */
  drain(): Promise<void>;
}

export function buildServer(llm: LLM, opts: ServerOptions = {}): EdgeServer {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 1 << 20 });
  const metrics = new Metrics(llm.engine);
  const modelId = opts.modelId ?? llm.name;
  const maxQueue = opts.maxQueue ?? 64;
  if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new InputError(`maxQueue must be a non-negative integer, got ${maxQueue}`, { field: "maxQueue" });
  let draining = false;

  const ctx: ServerContext = {
    llm,
    metrics,
    models: [modelId],
    admit(prompt, n) {
      if (draining) throw new ApiError(503, "the server is shutting down", "server_error", null, "draining");
      if (prompt.length >= llm.contextSize) {
        throw badRequest(`this model's maximum context length is ${llm.contextSize} tokens; the prompt has ${prompt.length}`, "messages", "context_length_exceeded");
      }
      // Sequences not running once this request's n join: those beyond the free slots wait.
      const s = llm.engine.stats();
      const slots = Math.max(0, llm.engine.scheduler.opts.maxSeqs - s.running);
      const wouldWait = Math.max(0, s.waiting + n - slots);
      if (wouldWait > maxQueue) {
        throw new ApiError(429, `too many requests: ${s.running} running, ${s.waiting} waiting (queue limit ${maxQueue}); retry later`, "rate_limit_error", null, "rate_limit_exceeded");
      }
      return prompt;
    },
    streamError(sse, e, endpoint) {
      const err = toApiError(e);
      metrics.requests.inc({ endpoint, status: String(err.status) });
      sse.error(err.body());
      sse.end();
    },
  };

  app.setErrorHandler((e, _req, reply) => {
    const err = toApiError(e);
    if (err.status >= 500) app.log.error(e);
    metrics.requests.inc({ endpoint: "error", status: String(err.status) });
    void reply.code(err.status).send(err.body());
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(new ApiError(404, `no route ${req.method} ${req.url}`, "invalid_request_error", null, "not_found").body());
  });

  app.addHook("onRequest", async (req) => {
    if (!opts.apiKey || !req.url.startsWith("/v1/")) return;
    const h = req.headers.authorization;
    if (h !== `Bearer ${opts.apiKey}`) {
      throw new ApiError(401, h ? "incorrect API key provided" : "missing API key: send 'Authorization: Bearer <key>'", "invalid_request_error", null, "invalid_api_key");
    }
  });

  app.get("/health", async (_req, reply) => {
    const s = llm.engine.stats();
    return reply.code(draining ? 503 : 200).send({ status: draining ? "draining" : "ok", running: s.running, waiting: s.waiting, kv_usage: s.kvUsage });
  });
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get("/v1/models", async () => ({
    object: "list",
    data: [{ id: modelId, object: "model", created: Math.floor(Date.now() / 1000), owned_by: "edgellm", context_length: llm.contextSize }],
  }));
  registerChat(app, ctx);
  registerCompletions(app, ctx);

  return {
    app,
    ctx,
    async drain() {
      draining = true;
      await llm.engine.idle();
      await app.close();
    },
  };
}
