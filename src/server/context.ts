/**
 * What the routes, the MCP agent loop and the router glue share of a built server (app.ts builds
 * it): the context each handler reads, and the server handle buildServer returns.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { LLM } from "../engine/llm.js";
import type { Metrics } from "./metrics.js";
import type { ImageEmbeddingCache, VisionModel } from "../vision/index.js";
import type { SseWriter } from "./sse.js";

export interface ServerContext {
  llm: LLM;
  metrics: Metrics;
  models: string[];
  /** The vision encoder of the served model (serve --mmproj) and its embedding cache. */
  vision?: { model: VisionModel; cache: ImageEmbeddingCache };
  /** Check a tokenized prompt fits and the queue has room; returns it. Throws ApiError. */
  admit(prompt: number[], n: number): number[];
  streamError(sse: SseWriter, e: unknown, endpoint: string): void;
  /** Set by installRouter (server/routing): decides each chat request before `local` answers it. */
  routeChat?: (req: FastifyRequest, reply: FastifyReply, local: LocalChat) => Promise<unknown>;
}

/**
 * The chat route's local answer for a body: the chat.completion object, or what the reply
 * returns when the handler answered through it (a stream, a 499).
 */
export type LocalChat = (body: unknown, reply: FastifyReply) => Promise<unknown>;

export interface EdgeServer {
  app: FastifyInstance;
  ctx: ServerContext;
  /** Stop accepting requests, let running ones finish, then close. */
  drain(): Promise<void>;
}
