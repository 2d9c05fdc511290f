/**
 * The JSON body parser, replacing fastify's default one:
 *  - charset: only UTF-8 (or none, which JSON means as UTF-8); any other `charset=` parameter
 *    (utf-16, latin1, ...) is 415 rather than bytes silently read as UTF-8;
 *  - nesting: the raw text is scanned once, without recursion, before JSON.parse; a body nesting
 *    deeper than MAX_BODY_DEPTH arrays/objects is a 400 naming the top-level field it sits in, so
 *    nothing recursive (stringify, schema compilers, validators) ever sees 5k-100k levels;
 *  - then fastify's own secure parser (`__proto__` / `constructor.prototype` keys refused).
 * Per-field depth limits (tighter than this one) are checked after parsing (openai/depth.ts).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError, badRequest } from "./openai/errors.js";

/** Deepest array/object nesting a body may have (JSON Schemas in tools need the most). */
export const MAX_BODY_DEPTH = 160;

const UTF8 = new Set(["utf-8", "utf8"]);

/** 415 unless the content-type's charset (if any) is UTF-8. */
export function checkCharset(contentType: string | undefined): void {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? "");
  if (m && !UTF8.has(m[1].toLowerCase())) {
    throw new ApiError(
      415,
      `unsupported charset '${m[1]}': send JSON bodies as UTF-8 (charset=utf-8 or no charset)`,
      "invalid_request_error",
      null,
      "unsupported_media_type",
    );
  }
}

/**
 * Deepest nesting of JSON text (a linear scan that skips strings), and the top-level key whose
 * value reaches `limit` first (null when the top level is not an object or the limit is not reached).
 */
export function scanDepth(text: string, limit: number): { depth: number; param: string | null } {
  let depth = 0;
  let max = 0;
  let lastKey: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      if (depth === 1) lastKey = text.slice(start, i + 1);
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return { depth: max, param: keyName(text, lastKey) };
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return { depth: max, param: null };
}

function keyName(text: string, raw: string | null): string | null {
  if (raw === null || !text.trimStart().startsWith("{")) return null;
  try {
    return String(JSON.parse(raw));
  } catch {
    return null;
  }
}

export function installJsonParser(app: FastifyInstance): void {
  const secure = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser(
    "application/json",
    { parseAs: "string" },
    (req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
      try {
        checkCharset(req.headers["content-type"]);
        const text = typeof body === "string" ? body : body.toString("utf8");
        const s = scanDepth(text, MAX_BODY_DEPTH);
        if (s.depth > MAX_BODY_DEPTH) {
          throw badRequest(
            `the request body nests arrays/objects more than ${MAX_BODY_DEPTH} levels deep${s.param ? ` (in '${s.param}')` : ""}`,
            s.param,
            "nesting_too_deep",
          );
        }
        secure(req, text, done);
      } catch (e) {
        done(e as Error);
      }
    },
  );
}
