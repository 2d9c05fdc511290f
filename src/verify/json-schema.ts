/**
 * JSON-schema validity verifier. The candidate's answer part (after </think>) must hold one JSON
 * value (bare, or in a ```json fence, or the first balanced {...}/[...] block) that the schema
 * accepts. Score 1 valid, 0.25 parseable but invalid, 0 no JSON.
 *
 * Validation is ajv's (JSON Schema 2020-12; unknown keywords and formats are ignored, as the spec
 * says). The schema comes from a request, so three things are ours:
 * - each schema compiles in its own Ajv instance (a `$id` in one caller's schema cannot become
 *   something another caller's `$ref` resolves to); the meta-schema check is shared;
 * - `pattern`/`patternProperties` run on RE2 (verify/user-regex.ts: linear time, no ReDoS);
 * - every schema node counts one step against MAX_STEPS per value (a keyword added to a copy of
 *   the schema), so anyOf/oneOf over $ref chains, or a $ref cycle such as {"$ref": "#"}, ends in
 *   an InputError instead of running for ever or overflowing the stack.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { InputError } from "../errors.js";
import { isObj } from "../json.js";
import { answerPart } from "./extract.js";
import type { Verdict, Verifier, VerifyInput } from "./verifier.js";
import { compileUserRegex } from "./user-regex.js";

/** Most schema nodes visited for one value: anyOf/oneOf over $ref cycles cannot run for ever. */
const MAX_STEPS = 100_000;
/** The step-counting keyword added to every schema node of the compiled copy. */
const STEP = "edgellm:step";

export type JSONSchema = boolean | { [k: string]: unknown };

const OPTIONS = { strict: false, logger: false, validateFormats: false } as const;
/** Checks schemas against the 2020-12 meta-schema; compiles nothing of the caller's. */
const meta = new Ajv2020(OPTIONS);
/** RE2 for `pattern` and `patternProperties` (ajv's default is a backtracking RegExp). */
const re2 = Object.assign((pattern: string) => compileUserRegex(pattern, "schema"), {
  code: "compileUserRegex",
});

let steps = 0;
function step(): boolean {
  if (++steps > MAX_STEPS)
    throw new InputError(`schema too costly to check (more than ${MAX_STEPS} steps)`, { field: "schema" });
  return true;
}

/** Keywords whose value is a schema, a list of schemas, or a name -> schema map. */
const ONE = ["not", "if", "then", "else", "items", "contains", "additionalProperties", "propertyNames"];
const ONE_MORE = ["unevaluatedItems", "unevaluatedProperties", "additionalItems"];
const LIST = ["allOf", "anyOf", "oneOf", "prefixItems", "items"];
const MAP = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];

/** A copy of `s` with STEP on every schema object (const/enum values and unknown keywords copied as they are). */
function counted(s: unknown): unknown {
  if (typeof s !== "object" || s === null || Array.isArray(s)) return s;
  const src = s as Record<string, unknown>;
  const out: Record<string, unknown> = { ...src, [STEP]: true };
  for (const k of [...ONE, ...ONE_MORE]) if (k in src && !Array.isArray(src[k])) out[k] = counted(src[k]);
  for (const k of LIST) if (Array.isArray(src[k])) out[k] = (src[k] as unknown[]).map(counted);
  for (const k of MAP) {
    const m = src[k];
    if (isObj(m)) out[k] = Object.fromEntries(Object.entries(m).map(([n, v]) => [n, counted(v)]));
  }
  return out;
}

const compiled = new WeakMap<object, ValidateFunction>();
function compile(schema: JSONSchema): ValidateFunction {
  if (typeof schema !== "boolean" && (typeof schema !== "object" || schema === null || Array.isArray(schema)))
    throw new InputError("a JSON schema must be an object or a boolean", { field: "schema" });
  const hit = typeof schema === "object" ? compiled.get(schema) : undefined;
  if (hit) return hit;
  let valid: boolean;
  try {
    valid = meta.validateSchema(schema) as boolean;
  } catch (e) {
    throw new InputError(`invalid JSON schema: ${(e as Error).message}`, { field: "schema" });
  }
  if (!valid)
    throw new InputError(`invalid JSON schema: ${meta.errorsText(meta.errors, { dataVar: "schema" })}`, {
      field: "schema",
    });
  const ajv = new Ajv2020({
    ...OPTIONS,
    allErrors: true,
    multipleOfPrecision: 9,
    meta: false,
    validateSchema: false,
    code: { regExp: re2 },
  });
  ajv.addKeyword({ keyword: STEP, schemaType: "boolean", errors: false, validate: step });
  let fn: ValidateFunction;
  try {
    fn = ajv.compile(counted(schema) as JSONSchema);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`invalid JSON schema: ${(e as Error).message}`, { field: "schema" });
  }
  if (typeof schema === "object") compiled.set(schema, fn);
  return fn;
}

/** ajv's "/a/0/b" as "$.a[0].b". */
function pathOf(pointer: string): string {
  let p = "$";
  for (const seg of pointer.split("/").slice(1)) {
    const k = seg.replace(/~1/g, "/").replace(/~0/g, "~");
    p += /^\d+$/.test(k) ? `[${k}]` : `.${k}`;
  }
  return p;
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const named = p.additionalProperty ?? p.unevaluatedProperty;
  return `${pathOf(e.instancePath)}: ${e.message ?? e.keyword}${named !== undefined ? ` ('${named}')` : ""}`;
}

/** Errors of `value` against `schema` ([] = valid); InputError when the schema is invalid or too costly. */
export function validateJSON(value: unknown, schema: JSONSchema): string[] {
  const fn = compile(schema);
  steps = 0;
  try {
    return fn(value) ? [] : (fn.errors ?? []).map(describe);
  } catch (e) {
    if (e instanceof RangeError)
      // a $ref cycle deeper than the stack before MAX_STEPS
      throw new InputError("schema recurses without end (a $ref cycle)", { field: "schema" });
    throw e;
  }
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
    compile(schema); // invalid schemas fail here, at the request's edge
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
