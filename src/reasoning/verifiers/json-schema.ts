/**
 * JSON-schema validity verifier. The candidate's answer part (after </think>) must hold one JSON
 * value (bare, or in a ```json fence, or the first balanced {...}/[...] block) that the schema
 * accepts. The validator covers the JSON Schema keywords that structured-output schemas use:
 * type (incl. integer, arrays of types), enum, const, properties, required,
 * additionalProperties (bool or schema), items (schema; prefixItems), minItems/maxItems,
 * uniqueItems, minLength/maxLength, pattern, minimum/maximum/exclusive*, multipleOf,
 * allOf/anyOf/oneOf/not, $ref to #/$defs or #/definitions. Unknown keywords are ignored (as the
 * spec says). Score 1 valid, 0.25 parseable but invalid, 0 no JSON.
 */
import { InputError } from "../../errors.js";
import { answerPart } from "../extract.js";
import type { Verdict, Verifier, VerifyInput } from "./verifier.js";
import { compileUserRegex, type UserRegex } from "../user-regex.js";

/** Schema `pattern`s are the caller's: RE2 (linear time), compiled once per pattern text. */
const patterns = new Map<string, UserRegex>();
function patternOf(p: string): UserRegex {
  let re = patterns.get(p);
  if (!re) {
    re = compileUserRegex(p, "schema");
    if (patterns.size >= 256) patterns.delete(patterns.keys().next().value!);
    patterns.set(p, re);
  }
  return re;
}

/** Most $ref hops followed on one path: a cycle such as {"$ref": "#"} stops here instead of overflowing the stack. */
const MAX_REF_HOPS = 64;
/** Most schema nodes visited for one value: anyOf/oneOf over $ref cycles cannot run for ever. */
const MAX_STEPS = 100_000;

export type JSONSchema = boolean | { [k: string]: unknown };

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Errors of `value` against `schema` ([] = valid). `root` resolves $ref. */
export function validateJSON(
  value: unknown,
  schema: JSONSchema,
  root: JSONSchema = schema,
  path = "$",
  hops = 0,
  budget = { steps: 0 },
): string[] {
  if (++budget.steps > MAX_STEPS)
    throw new InputError(`schema too costly to check (more than ${MAX_STEPS} steps)`, { field: "schema" });
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value is allowed here`];
  if (typeof schema !== "object" || schema === null)
    throw new InputError(`schema at ${path} is not an object or boolean`, { field: "schema" });
  const s = schema as Record<string, any>;
  const errs: string[] = [];
  if (typeof s.$ref === "string") {
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(s.$ref);
    const target = m
      ? (root as Record<string, any>)?.[m[1]]?.[m[2].replace(/~1/g, "/").replace(/~0/g, "~")]
      : s.$ref === "#"
        ? root
        : undefined;
    if (target === undefined) throw new InputError(`unresolvable $ref ${s.$ref}`, { field: "schema" });
    if (hops >= MAX_REF_HOPS)
      throw new InputError(
        `$ref ${s.$ref} is followed more than ${MAX_REF_HOPS} times without progress (a cycle)`,
        {
          field: "schema",
        },
      );
    errs.push(...validateJSON(value, target, root, path, hops + 1, budget));
  }
  const t = typeOf(value);
  if (s.type !== undefined) {
    const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((x) => x === t || (x === "number" && t === "integer")))
      return [...errs, `${path}: expected ${types.join("|")}, got ${t}`];
  }
  if (s.enum !== undefined && !(s.enum as unknown[]).some((e) => deepEqual(e, value)))
    errs.push(`${path}: not one of the enum values`);
  if ("const" in s && !deepEqual(s.const, value)) errs.push(`${path}: not the const value`);
  if (t === "number" || t === "integer") {
    const x = value as number;
    if (typeof s.minimum === "number" && x < s.minimum) errs.push(`${path}: ${x} < minimum ${s.minimum}`);
    if (typeof s.maximum === "number" && x > s.maximum) errs.push(`${path}: ${x} > maximum ${s.maximum}`);
    if (typeof s.exclusiveMinimum === "number" && x <= s.exclusiveMinimum)
      errs.push(`${path}: ${x} <= exclusiveMinimum ${s.exclusiveMinimum}`);
    if (typeof s.exclusiveMaximum === "number" && x >= s.exclusiveMaximum)
      errs.push(`${path}: ${x} >= exclusiveMaximum ${s.exclusiveMaximum}`);
    if (typeof s.multipleOf === "number" && Math.abs(x / s.multipleOf - Math.round(x / s.multipleOf)) > 1e-9)
      errs.push(`${path}: not a multiple of ${s.multipleOf}`);
  }
  if (t === "string") {
    const len = [...(value as string)].length; // code points, as the spec counts
    if (typeof s.minLength === "number" && len < s.minLength)
      errs.push(`${path}: shorter than ${s.minLength}`);
    if (typeof s.maxLength === "number" && len > s.maxLength)
      errs.push(`${path}: longer than ${s.maxLength}`);
    if (typeof s.pattern === "string" && !patternOf(s.pattern).test(value as string))
      errs.push(`${path}: does not match ${s.pattern}`);
  }
  if (t === "array") {
    const a = value as unknown[];
    const prefix: JSONSchema[] = Array.isArray(s.prefixItems) ? s.prefixItems : [];
    a.forEach((x, i) => {
      const sub = i < prefix.length ? prefix[i] : s.items;
      if (sub !== undefined) errs.push(...validateJSON(x, sub, root, `${path}[${i}]`, 0, budget));
    });
    if (typeof s.minItems === "number" && a.length < s.minItems)
      errs.push(`${path}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === "number" && a.length > s.maxItems)
      errs.push(`${path}: more than ${s.maxItems} items`);
    if (s.uniqueItems === true && a.some((x, i) => a.slice(0, i).some((y) => deepEqual(x, y))))
      errs.push(`${path}: items are not unique`);
  }
  if (t === "object") {
    const o = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, JSONSchema>;
    for (const r of (s.required ?? []) as string[])
      if (!(r in o)) errs.push(`${path}: missing required property '${r}'`);
    for (const [k, v] of Object.entries(o)) {
      if (k in props) errs.push(...validateJSON(v, props[k], root, `${path}.${k}`, 0, budget));
      else if (s.additionalProperties !== undefined)
        errs.push(...validateJSON(v, s.additionalProperties, root, `${path}.${k}`, 0, budget));
    }
    if (typeof s.minProperties === "number" && Object.keys(o).length < s.minProperties)
      errs.push(`${path}: fewer than ${s.minProperties} properties`);
    if (typeof s.maxProperties === "number" && Object.keys(o).length > s.maxProperties)
      errs.push(`${path}: more than ${s.maxProperties} properties`);
  }
  if (Array.isArray(s.allOf))
    for (const sub of s.allOf) errs.push(...validateJSON(value, sub, root, path, hops, budget));
  if (
    Array.isArray(s.anyOf) &&
    !s.anyOf.some((sub: JSONSchema) => validateJSON(value, sub, root, path, hops, budget).length === 0)
  )
    errs.push(`${path}: matches none of anyOf`);
  if (Array.isArray(s.oneOf)) {
    const n = s.oneOf.filter(
      (sub: JSONSchema) => validateJSON(value, sub, root, path, hops, budget).length === 0,
    ).length;
    if (n !== 1) errs.push(`${path}: matches ${n} of oneOf (need exactly 1)`);
  }
  if (s.not !== undefined && validateJSON(value, s.not, root, path, hops, budget).length === 0)
    errs.push(`${path}: matches 'not'`);
  return errs;
}

/** The JSON value a candidate answers with, if any. */
export function extractJSON(text: string): { value: unknown } | undefined {
  const body = answerPart(text).trim();
  const fence = /```(?:json)?\s*\n([\s\S]*?)```/.exec(body);
  const tries = [fence?.[1], body];
  const start = body.search(/[{[]/);
  if (start >= 0) tries.push(balanced(body, start));
  for (const t of tries) {
    if (t === undefined) continue;
    try {
      return { value: JSON.parse(t) };
    } catch {
      /* next form */
    }
  }
  return undefined;
}

function balanced(s: string, start: number): string | undefined {
  let depth = 0;
  let inStr = false;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (--depth === 0) return s.slice(start, i + 1);
    }
  }
  return undefined;
}

export class JSONSchemaVerifier implements Verifier {
  readonly name = "json-schema";
  constructor(readonly schema: JSONSchema) {
    if (
      typeof schema !== "boolean" &&
      (typeof schema !== "object" || schema === null || Array.isArray(schema))
    ) {
      throw new InputError("a JSON schema must be an object or a boolean", { field: "schema" });
    }
  }

  verify(input: VerifyInput): Verdict {
    const j = extractJSON(input.text);
    if (!j) return { score: input.partial ? 0.5 : 0, detail: "no JSON value found" };
    const errs = validateJSON(j.value, this.schema);
    return errs.length === 0
      ? { score: 1, detail: "valid" }
      : { score: 0.25, detail: errs.slice(0, 3).join("; ") };
  }
}
