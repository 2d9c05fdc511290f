/**
 * Size limits on the request fields that turn into grammars (zod, like our other new request
 * shapes): a tool-call or response_format grammar is compiled on the main thread, and its cost
 * grows with the schema (a 267 KiB tool list or a 3,000-property schema took 0.7-1.2 s and
 * 300-500 MB). Within these limits compilation stays in the low hundreds of milliseconds.
 *
 *   tools                          at most MAX_TOOLS entries and MAX_TOOLS_BYTES of JSON
 *   tools[i].function.parameters,  at most MAX_SCHEMA_PROPERTIES properties in all (every
 *   response_format ... schema     `properties` entry at any depth, $defs included)
 *
 * Over a limit -> 400 naming the field. Nesting depth is limited separately (depth.ts), before this.
 */
import { z } from "zod";
import { badRequest } from "./errors.js";
import { firstIssue, isObj } from "../../json.js";

export const MAX_TOOLS = 128;
export const MAX_TOOLS_BYTES = 64 * 1024;
export const MAX_SCHEMA_PROPERTIES = 256;

/** Number of `properties` entries anywhere in a schema (an explicit stack, no recursion). */
export function countProperties(schema: unknown): number {
  let n = 0;
  const stack = [schema];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null) continue;
    if (!Array.isArray(v)) {
      const p = (v as Record<string, unknown>).properties;
      if (isObj(p)) n += Object.keys(p).length;
    }
    stack.push(...Object.values(v));
  }
  return n;
}

const propertyBudget = (what: string) =>
  z.unknown().refine((s) => countProperties(s) <= MAX_SCHEMA_PROPERTIES, {
    message: `${what} has more than ${MAX_SCHEMA_PROPERTIES} properties in all`,
  });

const Tools = z
  .array(z.unknown())
  .max(MAX_TOOLS, { message: `at most ${MAX_TOOLS} tools` })
  .refine((t) => Buffer.byteLength(JSON.stringify(t)) <= MAX_TOOLS_BYTES, {
    message: `the tool list is larger than ${MAX_TOOLS_BYTES / 1024} KiB of JSON`,
  })
  .refine((t) => countProperties(t) <= MAX_SCHEMA_PROPERTIES, {
    message: `the tools' parameter schemas have more than ${MAX_SCHEMA_PROPERTIES} properties in all`,
  });

const Limits = z.looseObject({
  tools: Tools.nullable().optional(),
  response_format: z
    .looseObject({
      json_schema: z.looseObject({ schema: propertyBudget("the schema").optional() }).optional(),
    })
    .nullable()
    .optional(),
});

/** Throws a 400 naming the field when the body's grammar-bearing fields are over a limit. */
export function checkGrammarLimits(body: unknown): void {
  const r = Limits.safeParse(body);
  if (r.success) return;
  // Shape errors (tools not an array, ...) are reported by the field validators that follow.
  if (r.error.issues[0].code === "invalid_type" || r.error.issues[0].code === "invalid_union") return;
  const { path, message } = firstIssue(r.error);
  throw badRequest(`'${path}': ${message}`, path || null, "too_large");
}
