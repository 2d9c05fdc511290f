/**
 * Sends a chat request to the cloud and writes the answer to the client's raw response:
 * JSON with a `route` field, or the cloud's SSE chunks passed through as they arrive (each with
 * a `route` field added). When the cloud fails before anything was written, `fallback` decides:
 * a finished local answer is served with escalation_failed set, "local" hands the request back
 * to the local handler, and none answers 502/503 with the route and the cloud error.
 * Returns what happened so the caller can record it; never throws for cloud failures.
 */
import type { ServerResponse } from "node:http";
import { decisionJson, type RouteDecision } from "../../router/decision.js";
import { CloudError } from "../../router/errors.js";
import { cloudBody } from "../../router/features.js";
import type { Router } from "../../router/router.js";
import { errorBody, routeHeaders, writeCompletionAsSse } from "./shapes.js";
import { isObj, type Obj } from "../../json.js";

export type Fallback = { kind: "answer"; body: Obj } | { kind: "local" } | { kind: "none" };

export type ForwardResult =
  /** The response was written (cloud answer, fallback answer or error); `decision` is final. */
  | { written: true; decision: RouteDecision }
  /** The cloud failed and the request should run locally (fallback "local"). */
  | { written: false; decision: RouteDecision };

function failedDecision(d: RouteDecision, e: CloudError): RouteDecision {
  return {
    ...d,
    route: "local",
    escalationFailed: true,
    cloudError: `${e.kind}: ${e.message.split("\n")[0]}`,
  };
}

export async function forwardToCloud(
  router: Router,
  res: ServerResponse,
  body: Obj,
  decision: RouteDecision,
  fallback: Fallback,
  elapsedMs: number,
): Promise<ForwardResult> {
  const cloud = router.cloud!;
  const ac = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) ac.abort();
  };
  res.on("close", onClose);
  const opts = { signal: ac.signal, budgetMs: router.cloudBudgetMs(elapsedMs) };
  const stream = body.stream === true;
  const includeUsage = stream && (body.stream_options as Obj | undefined)?.include_usage === true;
  const t0 = performance.now();
  try {
    if (!stream) {
      const r = await cloud.chat(cloudBody(body), opts);
      const cloudMs = performance.now() - t0;
      router.metrics.cloudSeconds.observe(cloudMs / 1000);
      decision = { ...decision, timings: { ...decision.timings, cloudMs } };
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", ...routeHeaders(decision) });
      res.end(JSON.stringify({ ...r.body, route: decisionJson(decision) }));
      return { written: true, decision };
    }
    const s = await cloud.chatStream(cloudBody(body), opts);
    router.metrics.cloudSeconds.observe(s.latencyMs / 1000);
    decision = { ...decision, timings: { ...decision.timings, cloudMs: s.latencyMs } };
    const route = decisionJson(decision);
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
        "x-accel-buffering": "no",
        ...routeHeaders(decision),
      });
      res.flushHeaders();
    };
    try {
      for await (const data of s.events) {
        if (res.destroyed) break;
        start();
        if (data === "[DONE]") {
          res.write("data: [DONE]\n\n");
          continue;
        }
        let out = data;
        try {
          const chunk = JSON.parse(data) as Obj;
          if (isObj(chunk)) out = JSON.stringify({ ...chunk, route });
        } catch {
          // not JSON: passed through untouched
        }
        res.write(`data: ${out}\n\n`);
      }
      if (!res.destroyed) {
        start();
        res.end();
      }
      return { written: true, decision };
    } catch (e) {
      const ce = e instanceof CloudError ? e : new CloudError(String(e), "protocol");
      if (!started) throw ce;
      // Mid-stream failure: the client already has part of the cloud answer; say so and end.
      router.metrics.failures.inc({ kind: ce.kind });
      res.write(
        `data: ${JSON.stringify(errorBody(`cloud stream failed: ${ce.message.split("\n")[0]}`, "cloud_stream_failed", decision, "server_error"))}\n\n`,
      );
      res.end("data: [DONE]\n\n");
      return {
        written: true,
        decision: { ...decision, cloudError: `${ce.kind}: ${ce.message.split("\n")[0]}` },
      };
    }
  } catch (e) {
    const ce = e instanceof CloudError ? e : new CloudError(String((e as Error)?.message ?? e), "protocol");
    router.metrics.failures.inc({ kind: ce.kind });
    if (ce.kind === "aborted" || res.destroyed)
      return { written: true, decision: { ...decision, cloudError: "aborted: client went away" } };
    if (fallback.kind === "answer") {
      const d = failedDecision(decision, ce);
      if (stream) writeCompletionAsSse(res, fallback.body, d, includeUsage);
      else {
        res.writeHead(200, { "content-type": "application/json; charset=utf-8", ...routeHeaders(d) });
        res.end(JSON.stringify({ ...fallback.body, route: decisionJson(d) }));
      }
      return { written: true, decision: d };
    }
    if (fallback.kind === "local") return { written: false, decision: failedDecision(decision, ce) };
    const d: RouteDecision = { ...decision, cloudError: `${ce.kind}: ${ce.message.split("\n")[0]}` };
    // The cloud refused the request itself (4xx): pass its status on; its failures are 502/503.
    const status =
      ce.kind === "http" &&
      ce.status !== undefined &&
      ce.status < 500 &&
      ce.status !== 429 &&
      ce.status !== 408
        ? ce.status
        : ce.kind === "http" || ce.kind === "protocol"
          ? 502
          : 503;
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...routeHeaders(d) });
    res.end(
      JSON.stringify(
        errorBody(
          `the request needs the cloud (${decision.reason}: ${decision.details}) and the cloud failed: ${ce.message.split("\n")[0]}`,
          "cloud_unavailable",
          d,
          "server_error",
        ),
      ),
    );
    return { written: true, decision: d };
  } finally {
    res.off("close", onClose);
  }
}
