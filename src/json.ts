/**
 * JSON values as they arrive from outside (request bodies, policy and MCP config files,
 * tokenizer.json, tool arguments, user schemas):
 *   isObj(v)          the one type guard for "a plain object, not null, not an array"
 *   jsonPath(p)       a path as people write it: ["messages", 0, "role"] -> "messages[0].role"
 *   showValue(v)      a value for an error message, cut to 60 characters ("nothing" for undefined)
 *   firstIssue(err)   a zod error -> its first issue as { path, message, kind }: the one mapping
 *                     used by every zod-based validator (server 400s, policy and config files), so
 *                     all of them name the JSON path the same way.
 * zod is imported for its types only: a bundle that only needs isObj stays free of it.
 */
import type * as z from "zod";

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function jsonPath(p: readonly PropertyKey[]): string {
  return p.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join("");
}

export function showValue(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export interface Issue {
  /** JSON path of the offending value ("" for the root); an unknown key's path ends in the key. */
  path: string;
  /** The schema's message for it (without the path). */
  message: string;
  /**
   * invalid_type: wrong shape or missing; invalid_value: right shape, out of range or not allowed
   * (a custom issue says which with `params: { kind }`; invalid_type when it does not).
   */
  kind: "invalid_type" | "invalid_value";
  /** The issue is a key the schema does not know (the path ends in it). */
  unknownKey: boolean;
}

export function firstIssue(err: z.ZodError): Issue {
  const iss = err.issues[0];
  const p = [...iss.path];
  let message = iss.message;
  if (iss.code === "unrecognized_keys") {
    p.push(iss.keys[0]);
    message = "unknown key";
  }
  const custom = iss.code === "custom" ? (iss.params?.kind as Issue["kind"] | undefined) : undefined;
  // a discriminated union whose discriminator matches no option reports no branch errors: a value error
  const union = iss.code === "invalid_union" && iss.errors.length > 0;
  const shape = iss.code === "invalid_type" || union || iss.code === "custom";
  const kind = custom ?? (shape ? "invalid_type" : "invalid_value");
  return { path: jsonPath(p), message, kind, unknownKey: iss.code === "unrecognized_keys" };
}
