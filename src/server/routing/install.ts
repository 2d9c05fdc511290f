/**
 * Routing in the OpenAI-compatible server: `installRouter(server, router)` (after buildServer,
 * before listen) makes POST /v1/chat/completions ask the router for a decision before answering
 * (after the server's API-key check and nesting limits). The router decides (router.plan, then
 * router.judge on a local answer); this file acts on the decision:
 *   reject  -> 400 with the route and the reason;
 *   cloud   -> forwardToCloud (fallback: the local answer for spill, an error for hard rules);
 *   local without checks -> the route's local handler answers as usual (streaming stays token by
 *              token), with the route headers and a `route` field on the JSON answer;
 *   local-first -> answerLocally (the local handler called in-process, non-streaming), judge,
 *              then the local answer or the cloud's (local answer with escalation_failed when the
 *              cloud fails).
 */
import type { ServerResponse } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { decisionJson, type RouteDecision } from "../../router/decision.js";
import { extractFeatures } from "../../router/features.js";
import type { Router } from "../../router/router.js";
import type { EdgeServer, LocalChat, ServerContext } from "../context.js";
import { forwardToCloud } from "./forward.js";
import { answerLocally } from "./local-first.js";
import { errorBody, routeHeaders, setRouteHeaders, writeCompletionAsSse } from "./shapes.js";
import type { Obj } from "../../json.js";

export function installRouter(server: EdgeServer, router: Router): void {
  const { ctx } = server;
  router.metrics.registerOn(ctx.metrics.registry);
  ctx.routeChat = (req, reply, local) => routeChat(ctx, router, req, reply, local);
}

/** One chat request through the router; `local` is the route's own handler. */
async function routeChat(
  ctx: ServerContext,
  router: Router,
  req: FastifyRequest,
  reply: FastifyReply,
  local: LocalChat,
): Promise<unknown> {
  const t0 = performance.now();
  const body = (req.body ?? {}) as Obj;
  const f = extractFeatures(body, req.headers, (m) => ctx.llm.encodeChat(m).length);
  const env = {
    localContext: ctx.llm.contextSize,
    localWaiting: ctx.llm.stats().waiting,
    localImages: ctx.vision !== undefined,
  };
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
      // Spill failed: run locally after all (non-streaming, then written as the client asked).
      const out = await answerLocally(ctx, local, reply, router, body, f, false);
      writeLocal(res, out.status, out.body, r.decision, f.stream, body);
    });
    return reply;
  }

  if (!plan.checks) {
    router.record(plan.decision);
    setRouteHeaders(res, plan.decision);
    const out = await local(body, reply); // streaming answers are written by the handler itself
    return isAnswer(out, reply) ? { ...out, route: decisionJson(plan.decision) } : out;
  }

  // Local-first: the answer is checked before release, so a streaming client gets it after the check.
  reply.hijack();
  await guarded(res, plan.decision, async () => {
    const out = await answerLocally(ctx, local, reply, router, body, f);
    if (out.status !== 200 || !out.outcome) {
      const d: RouteDecision = {
        ...plan.decision,
        details: `local answer failed with HTTP ${out.status}`,
      };
      router.record(d);
      writeLocal(res, out.status, out.body, d, false, body);
      return;
    }
    const localMs = performance.now() - t0;
    const decision: RouteDecision = {
      ...router.judge(f, env, out.outcome, localMs),
      timings: { localMs },
    };
    if (decision.route === "local") {
      router.record(decision);
      writeLocal(res, 200, out.body, decision, f.stream, body);
      return;
    }
    const r = await forwardToCloud(
      router,
      res,
      body,
      decision,
      { kind: "answer", body: out.body },
      performance.now() - t0,
    );
    router.record(r.decision);
  });
  return reply;
}

/** A chat.completion object the handler returned (not the reply it answered through itself). */
function isAnswer(out: unknown, reply: FastifyReply): out is Obj {
  return typeof out === "object" && out !== null && out !== reply && !Array.isArray(out);
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

function writeLocal(
  res: ServerResponse,
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
