/**
 * Any error -> the OpenAI-style API error the server answers with. ApiError itself lives in
 * src/errors.ts (the request parsers of reasoning/ throw it too); re-exported here for the routes.
 */
import { ApiError, EdgeLLMError, InputError } from "../../errors.js";

export { ApiError, badRequest } from "../../errors.js";

/** Any thrown value -> ApiError (library InputErrors are the caller's fault: 400; the rest 500). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof InputError) {
    const ctx = e.message.includes("context") ? "context_length_exceeded" : null;
    return new ApiError(400, e.message, "invalid_request_error", e.context.field ?? null, ctx);
  }
  const fe = e as { statusCode?: number; code?: string; message?: string };
  if (typeof fe?.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    // fastify's own errors: malformed JSON, body too large, unsupported media type.
    const msg =
      fe.code === "FST_ERR_CTP_BODY_TOO_LARGE" ? "request body too large" : (fe.message ?? "bad request");
    return new ApiError(fe.statusCode, msg, "invalid_request_error", null, fe.code ?? null);
  }
  if (e instanceof EdgeLLMError) return new ApiError(500, e.message, "server_error");
  return new ApiError(500, "internal server error", "server_error");
}
