/**
 * Wires a Router into the OpenAI-compatible server without changing its routes: a preHandler
 * hook on POST /v1/chat/completions decides per request (after the server's API-key check,
 * before its validation), then
 *   reject  -> 400 with the route and the reason;
 *   cloud   -> forwardToCloud (fallback: local handler for spill, error for hard rules);
 *   local without checks -> the normal handler runs, with the route headers set and a `route`
 *              field added to JSON answers (onSend);
 *   local-first -> answerLocally (through the server's own handler, via inject with a per-process
 *              secret header that lets the inner call skip routing), judge, then the local answer
 *              or the cloud's (local answer with escalation_failed when the cloud fails).
 * Usage (after buildServer, before listen):  installRouter(server, router)
 */
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { LLM } from "../engine/llm.js";
import { decisionJson, type RouteDecision } from "./decision.js";
import { extractFeatures } from "./features.js";
import { forwardToCloud } from "./forward.js";
import { answerLocally } from "./local-first.js";
import { errorBody, routeHeaders, setRouteHeaders, writeCompletionAsSse } from "./openai-shapes.js";
import type { Router } from "./router.js";

type Obj = Record<string, unknown>;
const INTERNAL = "x-edgellm-internal";
const CHAT = "/v1/chat/completions";

/** The parts of the server the hook needs (an EdgeServer satisfies it). */
export interface RoutableServer {
  app: FastifyInstance;
  ctx: { llm: Pick<LLM, "encodeChat" | "contextSize" | "stats">; metrics: { registry: Registry } };
}

export function installRouter(server: RoutableServer, router: Router): void {
  const { app, ctx } = server;
  const secret = randomBytes(16).toString("hex");
  const localDecisions = new WeakMap<object, RouteDecision>();
  router.metrics.registerOn(ctx.metrics.registry);

  app.addHook("onSend", async (req, reply, payload) => {
    const d = localDecisions.get(req.raw);
    if (!d || reply.statusCode !== 200 || typeof payload !== "string") return payload;
    try {
      const o = JSON.parse(payload) as Obj;
      return JSON.stringify({ ...o, route: decisionJson(d) });
    } catch {
      return payload;
    }
  });

  app.addHook("preHandler", async (req, reply) => {
    if (req.method !== "POST" || req.routeOptions.url !== CHAT) return;
    if (req.headers[INTERNAL] === secret) return;
    const t0 = performance.now();
    const body = (req.body ?? {}) as Obj;
    const f = extractFeatures(body, req.headers, (m) => ctx.llm.encodeChat(m).length);
    const env = { localContext: ctx.llm.contextSize, localWaiting: ctx.llm.stats().waiting };
    const plan = router.plan(f, env);
    const res = reply.raw;

    if (plan.kind === "reject") {
      router.record(plan.decision);
      return reply
        .code(plan.status)
        .headers(routeHeaders(plan.decision))
        .send(
          errorBody(
            `cannot route this request: ${plan.decision.details}`,
            `route_${plan.decision.reason}`,
            plan.decision,
          ),
        );
    }

    if (plan.kind === "cloud") {
      reply.hijack();
      await guarded(res, plan.decision, async () => {
        const fb =
          plan.decision.reason === "local_overloaded"
            ? ({ kind: "local" } as const)
            : ({ kind: "none" } as const);
        const r = await forwardToCloud(router, res, body, plan.decision, fb, performance.now() - t0);
        router.record(r.decision);
        if (r.written) return;
        // Spill failed: run locally after all. The hijacked reply cannot go back to the handler, so
        // answer through the same inner call the local-first path uses.
        const local = await answerLocally(
          app,
          router,
          body,
          f,
          innerHeaders(req.headers.authorization, secret),
          false,
        );
        writeLocal(res, local.status, local.body, r.decision, f.stream, body);
      });
      return reply;
    }

    if (!plan.checks) {
      router.record(plan.decision);
      setRouteHeaders(res, plan.decision);
      localDecisions.set(req.raw, plan.decision);
      return; // the server's own handler answers (streaming stays token by token)
    }

    // Local-first: the answer is checked before release, so a streaming client gets it after the check.
    reply.hijack();
    await guarded(res, plan.decision, async () => {
      const local = await answerLocally(
        app,
        router,
        body,
        f,
        innerHeaders(req.headers.authorization, secret),
      );
      if (local.status !== 200 || !local.outcome) {
        const d: RouteDecision = {
          ...plan.decision,
          details: `local answer failed with HTTP ${local.status}`,
        };
        router.record(d);
        writeLocal(res, local.status, local.body, d, false, body);
        return;
      }
      const localMs = performance.now() - t0;
      const decision: RouteDecision = {
        ...router.judge(f, env, local.outcome, localMs),
        timings: { localMs },
      };
      if (decision.route === "local") {
        router.record(decision);
        writeLocal(res, 200, local.body, decision, f.stream, body);
        return;
      }
      const r = await forwardToCloud(
        router,
        res,
        body,
        decision,
        { kind: "answer", body: local.body },
        performance.now() - t0,
      );
      router.record(r.decision);
    });
    return reply;
  });
}

/**
 * Runs a hijacked branch; an unexpected error (a bug, a verifier returning garbage) still answers
 * the client: 500 with an OpenAI error body if nothing was written yet, else the stream is ended.
 */
async function guarded(res: ServerResponse, d: RouteDecision, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (res.destroyed || res.writableEnded) return;
    if (!res.headersSent) {
      res.writeHead(500, { "content-type": "application/json; charset=utf-8", ...routeHeaders(d) });
      res.end(
        JSON.stringify(
          errorBody(
            `router failed: ${(e as Error)?.message ?? String(e)}`,
            "router_error",
            d,
            "server_error",
          ),
        ),
      );
    } else res.end();
  }
}

function innerHeaders(auth: string | undefined, secret: string): Record<string, string> {
  const h: Record<string, string> = { [INTERNAL]: secret };
  if (auth) h.authorization = auth;
  return h;
}

function writeLocal(
  res: import("node:http").ServerResponse,
  status: number,
  body: Obj,
  d: RouteDecision,
  stream: boolean,
  req: Obj,
): void {
  if (res.destroyed) return;
  if (status === 200 && stream) {
    writeCompletionAsSse(res, body, d, (req.stream_options as Obj | undefined)?.include_usage === true);
    return;
  }
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...routeHeaders(d) });
  res.end(JSON.stringify({ ...body, route: decisionJson(d) }));
}
