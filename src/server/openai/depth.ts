/**
 * Per-field nesting limits, checked on the parsed body before any recursive work (validation
 * messages that stringify a value, schema compilers, grammar builders, templates):
 *   - a JSON Schema the caller sends (tools[i].function.parameters,
 *     response_format.json_schema.schema, reasoning.verifier.schema): at most MAX_SCHEMA_DEPTH
 *     arrays/objects deep, counted from the schema itself (an object property costs two levels:
 *     `properties` and the property's schema; an array's `items` one);
 *   - anything else: at most MAX_FIELD_DEPTH deep, counted from the top-level field.
 * Over a limit -> 400 naming the field. The walk is an explicit stack (no recursion), so it
 * cannot itself overflow; fastify's parser (server/body.ts) already refused bodies nested beyond
 * MAX_BODY_DEPTH, which bounds the walk.
 */
import { badRequest } from "./errors.js";
import { jsonPath } from "../../json.js";

export const MAX_SCHEMA_DEPTH = 128;
export const MAX_FIELD_DEPTH = 32;

type Seg = string | number;

/** Whether `path` (from the body root) is where a caller's JSON Schema starts. */
function isSchemaRoot(p: readonly Seg[]): boolean {
  if (
    p.length === 4 &&
    p[0] === "tools" &&
    typeof p[1] === "number" &&
    p[2] === "function" &&
    p[3] === "parameters"
  )
    return true;
  if (p.length === 3 && p[0] === "response_format" && p[1] === "json_schema" && p[2] === "schema")
    return true;
  return p.length === 3 && p[0] === "reasoning" && p[1] === "verifier" && p[2] === "schema";
}

/** Throws a 400 when a field of the (object) body nests deeper than its limit. */
export function checkDepth(body: unknown): void {
  if (typeof body !== "object" || body === null) return;
  // Each entry: a value, its path, its depth within the current limit's scope, and that limit.
  const stack: { v: unknown; p: Seg[]; d: number; limit: number; scope: Seg[] }[] = [];
  for (const [k, v] of Object.entries(body))
    stack.push({ v, p: [k], d: 0, limit: MAX_FIELD_DEPTH, scope: [k] });
  while (stack.length) {
    const e = stack.pop()!;
    if (typeof e.v !== "object" || e.v === null) continue;
    const d = e.d + 1;
    if (d > e.limit) {
      const what = e.limit === MAX_SCHEMA_DEPTH ? "JSON Schema" : "field";
      throw badRequest(
        `'${jsonPath(e.scope)}' nests more than ${e.limit} arrays/objects deep (the ${what} limit)`,
        jsonPath(e.scope),
        "nesting_too_deep",
      );
    }
    const entries: [Seg, unknown][] = Array.isArray(e.v) ? e.v.map((x, i) => [i, x]) : Object.entries(e.v);
    for (const [k, v] of entries) {
      if (typeof v !== "object" || v === null) continue;
      const p = [...e.p, k];
      if (e.limit !== MAX_SCHEMA_DEPTH && isSchemaRoot(p))
        stack.push({ v, p, d: 0, limit: MAX_SCHEMA_DEPTH, scope: p });
      else stack.push({ v, p, d, limit: e.limit, scope: e.scope });
    }
  }
}
