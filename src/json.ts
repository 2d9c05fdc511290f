/**
 * JSON objects as they arrive from outside (request bodies, tokenizer.json, tool arguments,
 * user schemas): the one type guard for "a plain object, not null, not an array".
 */
export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
