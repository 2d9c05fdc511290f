/**
 * The OpenAI-compatible HTTP server (fastify): /v1/chat/completions, /v1/completions,
 * /v1/models, /health, /metrics. Edge rules: API key (401, decided on the matched route: see
 * auth.ts for the table of public routes), unknown path (404), known path with the wrong method
 * (405 + Allow), non-UTF-8 charset (415), body size limit (413, then a lingering close: linger.ts), nesting limits, malformed JSON and
 * invalid fields (400, OpenAI error body), unknown model (400), prompt over the context (400), too
 * many requests queued (429), draining (503), a client too slow to send its request (408).
 * Timeouts: headers and the whole request must arrive within `requestTimeout`, an idle keep-alive
 * socket closes after `keepAliveTimeout`; drain() closes whatever is still open after `drainGraceMs`.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { installAuth, PUBLIC } from "./auth.js";
import { installJsonParser } from "./body.js";
import { installLingeringClose } from "./linger.js";
import { checkDepth } from "./openai/depth.js";
import type { LLM } from "../engine/llm.js";
import { InputError } from "../errors.js";
import { ApiError, badRequest, toApiError } from "./openai/errors.js";
import { Metrics } from "./metrics.js";
import { ImageEmbeddingCache, type VisionModel } from "../vision/index.js";
import { registerChat } from "./routes/chat.js";
import { registerCompletions } from "./routes/completions.js";
import { registerLora } from "./routes/lora.js";
import type { EdgeServer, ServerContext } from "./context.js";

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
  /**
   * Milliseconds a client has to send its headers and whole body (default 30 s); a slower one
   * gets 408 and its connection is closed. Also bounds the headers alone (`headersTimeout`).
   */
  requestTimeout?: number;
  /**
   * Milliseconds an idle keep-alive connection stays open (default 72 s, fastify's: longer than
   * clients' own idle timeouts, so the client closes first and never reuses a socket we just closed).
   */
  keepAliveTimeout?: number;
  /**
   * Milliseconds drain() waits for running requests before closing every remaining connection
   * and cancelling what still runs (default 10 s).
   */
  drainGraceMs?: number;
  logger?: boolean;
  /**
   * Folder POST /lora-adapters may load adapter files from (paths are relative to it and may not
   * leave it). Unset: adapters can be listed, rescaled and unloaded over HTTP, not loaded.
   */
  loraDir?: string;
  /** A vision encoder + projector feeding this LLM (mmproj): image parts are read, not refused. */
  vision?: VisionModel;
}

export type { EdgeServer, LocalChat, ServerContext } from "./context.js";

export function buildServer(llm: LLM, opts: ServerOptions = {}): EdgeServer {
  const requestTimeout = opts.requestTimeout ?? 30_000;
  for (const [k, v] of Object.entries({
    requestTimeout,
    keepAliveTimeout: opts.keepAliveTimeout,
    drainGraceMs: opts.drainGraceMs,
  })) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      throw new InputError(`${k} must be a positive integer (ms), got ${v}`, { field: k });
  }
  // With image input, room for a data: URL of the largest image decodeImage takes (20 MiB, base64).
  const bodyLimit = opts.bodyLimit ?? (opts.vision ? 28 << 20 : 1 << 20);
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit,
    requestTimeout,
    keepAliveTimeout: opts.keepAliveTimeout ?? 72_000,
    // Node checks both timers every connectionsCheckingInterval (30 s by default): check often
    // enough that a short limit is honoured within about a quarter of itself.
    http: {
      requestTimeout, // here too: node checks headersTimeout <= requestTimeout when the server is created
      headersTimeout: requestTimeout,
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(requestTimeout / 4))),
    },
  });
  const metrics = new Metrics(llm.engine, llm.lora);
  const modelId = opts.modelId ?? llm.name;
  const maxQueue = opts.maxQueue ?? 64;
  if (!Number.isInteger(maxQueue) || maxQueue < 0)
    throw new InputError(`maxQueue must be a non-negative integer, got ${maxQueue}`, { field: "maxQueue" });
  let draining = false;

  const ctx: ServerContext = {
    llm,
    metrics,
    models: [modelId],
    ...(opts.vision ? { vision: { model: opts.vision, cache: new ImageEmbeddingCache() } } : {}),
    admit(prompt, n) {
      if (draining) throw new ApiError(503, "the server is shutting down", "server_error", null, "draining");
      if (prompt.length >= llm.contextSize) {
        throw badRequest(
          `this model's maximum context length is ${llm.contextSize} tokens; the prompt has ${prompt.length}`,
          "messages",
          "context_length_exceeded",
        );
      }
      // Sequences not running once this request's n join: those beyond the free slots wait.
      const s = llm.engine.stats();
      const slots = Math.max(0, llm.engine.scheduler.opts.maxSeqs - s.running);
      const wouldWait = Math.max(0, s.waiting + n - slots);
      if (wouldWait > maxQueue) {
        throw new ApiError(
          429,
          `too many requests: ${s.running} running, ${s.waiting} waiting (queue limit ${maxQueue}); retry later`,
          "rate_limit_error",
          null,
          "rate_limit_exceeded",
        );
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
    const path = req.url.length > 200 ? `${req.url.slice(0, 200)}...` : req.url;
    void reply
      .code(404)
      .send(
        new ApiError(
          404,
          `no route ${req.method} ${path}`,
          "invalid_request_error",
          null,
          "not_found",
        ).body(),
      );
  });
  installAuth(app, opts.apiKey);
  installJsonParser(app);
  // After a 413 the client may still be uploading: read and discard up to 8 bodies at the limit,
  // for at most 5 s, before closing, so that it reads the 413 rather than a connection reset.
  installLingeringClose(app, 8 * bodyLimit, 5_000);
  // Per-field nesting limits before anything recursive (the router's decision included).
  app.addHook("preValidation", async (req) => checkDepth(req.body));

  app.get("/health", { config: PUBLIC }, async (_req, reply) => {
    const s = llm.engine.stats();
    return reply.code(draining ? 503 : 200).send({
      status: draining ? "draining" : "ok",
      running: s.running,
      waiting: s.waiting,
      kv_usage: s.kvUsage,
    });
  });
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get("/v1/models", async () => ({
    object: "list",
    data: [
      {
        id: modelId,
        object: "model",
        created: Math.floor(Date.now() / 1000),
        owned_by: "edgellm",
        context_length: llm.contextSize,
        // What the model reads (llama-server reports the same under "modalities").
        modalities: { vision: ctx.vision !== undefined },
      },
    ],
  }));
  registerChat(app, ctx);
  registerCompletions(app, ctx);
  registerLora(app, ctx, opts.loraDir);
  methodNotAllowed(app, [
    ["/lora-adapters", ["GET", "HEAD", "POST"], false],
    ["/health", ["GET", "HEAD"], true],
    ["/metrics", ["GET", "HEAD"], false],
    ["/v1/models", ["GET", "HEAD"], false],
    ["/v1/chat/completions", ["POST"], false],
    ["/v1/completions", ["POST"], false],
  ]);

  const grace = opts.drainGraceMs ?? 10_000;
  return {
    app,
    ctx,
    async drain() {
      draining = true;
      // Running requests get `grace` ms to finish (new ones get 503); then every connection still
      // open (a stream still running, a client that never finished sending its body) is closed,
      // which also cancels its sequences (drive.ts ties them to the socket).
      const deadline = Date.now() + grace;
      const timer = (ms: number) => {
        let t: NodeJS.Timeout | undefined;
        return {
          p: new Promise<void>((r) => (t = setTimeout(r, Math.max(0, ms)))),
          clear: () => clearTimeout(t),
        };
      };
      const t1 = timer(grace);
      await Promise.race([llm.engine.idle(), t1.p]);
      t1.clear();
      const closing = app.close(); // closes idle keep-alive sockets, waits for the rest
      const t2 = timer(Math.max(250, deadline - Date.now()));
      await Promise.race([closing, t2.p]);
      t2.clear();
      app.server.closeAllConnections();
      await closing;
    },
  };
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] as const;

/** 405 with an Allow header for the other methods on each known path (same auth as the path). */
function methodNotAllowed(app: FastifyInstance, routes: [string, string[], boolean][]): void {
  for (const [url, allowed, isPublic] of routes) {
    const allow = allowed.join(", ");
    app.route({
      method: METHODS.filter((m) => !allowed.includes(m)),
      url,
      config: { public: isPublic },
      exposeHeadRoute: false,
      handler: async (req, reply) =>
        reply
          .code(405)
          .header("allow", allow)
          .send(
            new ApiError(
              405,
              `${req.method} is not allowed on ${url}; use ${allow}`,
              "invalid_request_error",
              null,
              "method_not_allowed",
            ).body(),
          ),
    });
  }
}
