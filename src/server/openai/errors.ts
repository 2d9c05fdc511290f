/**
 * The OpenAI-style API error the server answers with (ApiError, thrown by the request parsers in
 * this folder and the routes), and toApiError: any error -> one.
 */
import { EdgeLLMError, InputError } from "../../errors.js";

/**
 * An OpenAI-style API error: an HTTP status plus the body every OpenAI client parses,
 *   { "error": { "message", "type", "param", "code" } }.
 * Thrown by the request parsers (validate.ts) and the routes.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new ApiError(400, message, "invalid_request_error", param, code);

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
