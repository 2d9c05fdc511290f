/**
 * Small helpers over OpenAI chat wire shapes used by the routed chat route: reading a chat.completion's
 * text and token logprobs, the route headers, error bodies, and turning a finished
 * chat.completion into the chunk sequence a streaming client expects (for answers that were
 * checked before release).
 */
import type { ServerResponse } from "node:http";
import { decisionJson, type RouteDecision } from "../../router/decision.js";
import type { Obj } from "../../json.js";

export const ROUTE_HEADER = "x-edgellm-route";
export const REASON_HEADER = "x-edgellm-route-reason";
export const ESCALATION_HEADER = "x-edgellm-escalation";

export function routeHeaders(d: RouteDecision): Record<string, string> {
  const h: Record<string, string> = { [ROUTE_HEADER]: d.route, [REASON_HEADER]: d.reason };
  if (d.escalationFailed) h[ESCALATION_HEADER] = "failed";
  return h;
}

export function setRouteHeaders(res: ServerResponse, d: RouteDecision): void {
  for (const [k, v] of Object.entries(routeHeaders(d))) res.setHeader(k, v);
}

/**
 * A choice's text as the model wrote it, for the answer checks: a `reasoning_content` split off by
 * the server (reasoning/split-default.ts) goes back into its think block before the content.
 */
export function choiceText(body: Obj, index = 0): string {
  const ch = (body.choices as Obj[] | undefined)?.[index];
  const msg = ch?.message as Obj | undefined;
  const content = typeof msg?.content === "string" ? msg.content : "";
  const reasoning = msg?.reasoning_content;
  return typeof reasoning === "string" && reasoning.length > 0
    ? `<think>${reasoning}</think>\n${content}`
    : content;
}

export function choiceLogprobs(body: Obj, index = 0): number[] {
  const ch = (body.choices as Obj[] | undefined)?.[index];
  const content = (ch?.logprobs as Obj | null | undefined)?.content;
  return Array.isArray(content)
    ? content.map((t) => (t as Obj).logprob).filter((x): x is number => typeof x === "number")
    : [];
}

export function errorBody(
  message: string,
  code: string,
  d: RouteDecision,
  type = "invalid_request_error",
): Obj {
  return { error: { message, type, param: null, code }, route: decisionJson(d) };
}

/** Write a finished chat.completion to `res` as SSE chunks + [DONE], with the route on each chunk. */
export function writeCompletionAsSse(
  res: ServerResponse,
  body: Obj,
  d: RouteDecision,
  includeUsage: boolean,
): void {
  const route = decisionJson(d);
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    ...routeHeaders(d),
  });
  const base = {
    id: body.id,
    object: "chat.completion.chunk",
    created: body.created,
    model: body.model,
    system_fingerprint: body.system_fingerprint ?? null,
  };
  const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
  for (const ch of (body.choices as Obj[]) ?? []) {
    const msg = (ch.message as Obj) ?? {};
    const lp = ch.logprobs ?? null;
    send({
      ...base,
      choices: [
        { index: ch.index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
      ],
      route,
    });
    if (typeof msg.reasoning_content === "string" && msg.reasoning_content.length > 0)
      send({
        ...base,
        choices: [
          {
            index: ch.index,
            delta: { reasoning_content: msg.reasoning_content },
            logprobs: null,
            finish_reason: null,
          },
        ],
        route,
      });
    send({
      ...base,
      choices: [
        {
          index: ch.index,
          delta: { content: msg.content ?? "" },
          logprobs: lp,
          finish_reason: null,
        },
      ],
      route,
    });
    send({
      ...base,
      choices: [{ index: ch.index, delta: {}, logprobs: null, finish_reason: ch.finish_reason ?? "stop" }],
      route,
    });
  }
  if (includeUsage && body.usage) send({ ...base, choices: [], usage: body.usage, route });
  res.end("data: [DONE]\n\n");
}
