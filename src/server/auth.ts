/**
 * API-key authentication: ONE decision point, taken on the route fastify matched (an onRequest
 * hook runs after routing), never on the raw URL — `/%761/models` and the absolute-form target
 * `http://x/v1/completions` both match `/v1/...` routes and are checked like them.
 *
 * What is public when `--api-key` is set (every route not marked `config: { public: true }`
 * needs the key; a new route is private unless it says otherwise):
 *
 *   | route                          | methods    | key       | why                                              |
 *   |--------------------------------|------------|-----------|--------------------------------------------------|
 *   | /health                        | GET, HEAD  | public    | liveness probes carry no secrets; it shows only  |
 *   |                                |            |           | status, running, waiting and KV usage            |
 *   | /metrics                       | GET, HEAD  | required  | traffic, token counts and route decisions        |
 *   | /v1/* (models, chat, completions) | all     | required  | the API                                          |
 *   | /lora-adapters                 | GET, POST  | required  | lists files on disk; loads, rescales, unloads    |
 *   | / and static UI (web-ui.ts)    | GET, HEAD  | public    | the page asks for the key itself                 |
 *   | unknown paths                  | any        | —         | 404 with or without a key                        |
 *   | known path, wrong method       | any        | as route  | 405 with an Allow header (after the key check)   |
 *
 * The key is compared in constant time (SHA-256 of both sides, then timingSafeEqual). The router
 * (server/routing) acts inside the chat route, after this check: there are no internal requests.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "./openai/errors.js";

/** Route config flag: `app.get(url, { config: PUBLIC }, handler)`. */
export const PUBLIC = { public: true } as const;

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** The bearer token of an Authorization header, or undefined. */
function bearer(h: string | undefined): string | undefined {
  const m = /^Bearer[ \t]+(\S.*?)[ \t]*$/i.exec(h ?? "");
  return m ? m[1] : undefined;
}

export function isPublicRoute(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { public?: boolean } | undefined)?.public === true;
}

/** Installs the key check (no-op without a key). */
export function installAuth(app: FastifyInstance, apiKey: string | undefined): void {
  if (!apiKey) return;
  const want = digest(apiKey);
  app.addHook("onRequest", async (req) => {
    // Unmatched paths go to the not-found handler (404) whatever the key; matched ones are private
    // unless their route says public.
    if (req.is404 || isPublicRoute(req)) return;
    const h = req.headers.authorization;
    const got = bearer(h);
    if (got === undefined || !timingSafeEqual(digest(got), want)) {
      throw new ApiError(
        401,
        h ? "incorrect API key provided" : "missing API key: send 'Authorization: Bearer <key>'",
        "invalid_request_error",
        null,
        "invalid_api_key",
      );
    }
  });
}
