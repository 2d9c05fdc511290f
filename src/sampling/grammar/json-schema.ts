/**
 * JSON Schema -> GBNF, so schema-constrained output always parses and validates.
 *
 * Supported: type (incl. arrays of types, nullable), const, enum, anyOf/oneOf (as alternatives;
 * oneOf branches should be disjoint), allOf with one branch, $ref to local definitions (#/$defs,
 * #/definitions, any local JSON pointer; recursion allowed), objects (properties in declared
 * order, required, additionalProperties false/true/schema), arrays (items, prefixItems, minItems,
 * maxItems), strings (minLength, maxLength, format date | time | date-time | uuid), integers
 * (minimum, maximum, exclusiveMinimum, exclusiveMaximum), numbers (bounds: integer-valued within
 * the bounds), boolean, null. Annotations (title, description, default, examples, ...) are
 * ignored. Any other keyword is an InputError naming its path: a constraint we would silently
 * drop could let invalid output through.
 *
 * Notes: absent additionalProperties produces no extra keys (valid under the default `true`);
 * format "date" limits February to 28 days (leap years are not expressible cheaply).
 */
import { InputError } from "../../errors.js";
import { intRangeGBNF, MAX_INT } from "./int-range.js";
import { gbnfLiteral, JSON_PRIMITIVES, primitivesFor } from "./json-gbnf.js";

type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set([
  "title",
  "description",
  "default",
  "examples",
  "$schema",
  "$id",
  "$comment",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$defs",
  "definitions",
  "strict",
]);

const KEYWORDS: Record<string, Set<string>> = {
  any: new Set(["type", "const", "enum", "anyOf", "oneOf", "allOf", "$ref", "nullable"]),
  object: new Set(["properties", "required", "additionalProperties"]),
  array: new Set(["items", "prefixItems", "minItems", "maxItems", "uniqueItems"]),
  string: new Set(["minLength", "maxLength", "format"]),
  number: new Set(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]),
};
const ALL_KEYWORDS = new Set(Object.values(KEYWORDS).flatMap((s) => [...s]));

const FORMATS: Record<string, string> = {
  date: `[0-9]{4} "-" ( ( "0" [13578] | "1" [02] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] ) | ( "0" [469] | "11" ) "-" ( "0" [1-9] | [12] [0-9] | "30" ) | "02" "-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] ) )`,
  time: `( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,6} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )`,
  uuid: `[0-9a-f]{8} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{12}`,
};
FORMATS["date-time"] = `${FORMATS.date} "T" ${FORMATS.time}`;

const MAX_LEN = 10000;

function isObj(x: unknown): x is Schema {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

export class SchemaCompiler {
  private readonly rules = new Map<string, string>();
  private readonly byBody = new Map<string, string>();
  private readonly refNames = new Map<string, string>();

  /** `prefix` namespaces generated rule names, so several schemas can share one grammar. */
  constructor(
    private readonly rootSchema: unknown,
    private readonly prefix = "",
  ) {}

  private fail(path: string, msg: string, hint?: string): never {
    throw new InputError(`JSON Schema at ${path || "#"}: ${msg}`, { field: path || "#", hint });
  }

  /** A rule for a body (identical bodies share one rule). */
  private rule(hint: string, body: string): string {
    const existing = this.byBody.get(body);
    if (existing) return existing;
    const name = this.freshName(hint);
    this.rules.set(name, body);
    this.byBody.set(body, name);
    return name;
  }

  private freshName(hint: string): string {
    const base =
      hint
        .replace(/[^A-Za-z0-9-]+/g, "-")
        .replace(/^-+|-+$/g, "")
        .toLowerCase() || "r";
    let name = this.prefix + base;
    for (let i = 2; this.rules.has(name) || name in JSON_PRIMITIVES || name === "root"; i++)
      name = `${this.prefix}${base}-${i}`;
    return name;
  }

  /** The root expression and the rules it needs (primitives not included). */
  compileRules(hint = "value"): { root: string; rules: Map<string, string> } {
    const root = this.expr(this.rootSchema, "#", hint);
    return { root, rules: this.rules };
  }

  compile(): string {
    const rootExpr = this.expr(this.rootSchema, "#", "value");
    const bodies = [rootExpr, ...this.rules.values()];
    const lines = [`root ::= ${rootExpr}`];
    for (const [n, b] of this.rules) lines.push(`${n} ::= ${b}`);
    for (const p of primitivesFor(bodies)) lines.push(`${p} ::= ${JSON_PRIMITIVES[p]}`);
    return lines.join("\n");
  }

  private resolveRef(ref: string, path: string): unknown {
    if (!ref.startsWith("#")) this.fail(path, `only local $ref is supported, got '${ref}'`);
    let cur: unknown = this.rootSchema;
    const parts = ref
      .slice(1)
      .split("/")
      .filter((p, i) => i > 0 || p !== "");
    for (const raw of parts) {
      let p: string;
      try {
        p = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
      } catch {
        this.fail(path, `$ref '${ref}' is not a valid JSON pointer (bad percent-encoding)`);
      }
      if (!isObj(cur) && !Array.isArray(cur)) this.fail(path, `$ref '${ref}' does not resolve`);
      // Own keys only: '#/__proto__' or '#/constructor' must not reach Object.prototype.
      if (!Object.hasOwn(cur as object, p)) this.fail(path, `$ref '${ref}' does not resolve`);
      cur = (cur as Record<string, unknown>)[p];
      if (cur === undefined) this.fail(path, `$ref '${ref}' does not resolve`);
    }
    return cur;
  }

  /** GBNF expression for a schema. */
  expr(schema: unknown, path: string, hint: string): string {
    if (schema === true) return "json-value";
    if (schema === false) this.fail(path, "schema `false` matches nothing");
    if (!isObj(schema)) this.fail(path, "a schema must be an object or a boolean");
    for (const k of Object.keys(schema)) {
      if (!ANNOTATIONS.has(k) && !ALL_KEYWORDS.has(k)) {
        this.fail(
          `${path}/${k}`,
          `unsupported keyword '${k}'`,
          "remove it, or express the constraint with supported keywords",
        );
      }
    }
    const constrained = Object.keys(schema).filter((k) => !ANNOTATIONS.has(k));
    if (schema.nullable === true) {
      const { nullable: _n, ...rest } = schema;
      return `( ${this.expr(rest, path, hint)} | json-null )`;
    }
    if (schema.$ref !== undefined) {
      if (typeof schema.$ref !== "string") this.fail(`${path}/$ref`, "$ref must be a string");
      if (constrained.length > 1) this.fail(path, "keywords beside $ref are not supported");
      const ref = schema.$ref;
      let name = this.refNames.get(ref);
      if (!name) {
        name = this.freshName(ref.split("/").pop() ?? "ref");
        this.refNames.set(ref, name);
        this.rules.set(name, ""); // reserve (recursive references see the name)
        this.rules.set(name, this.expr(this.resolveRef(ref, path), ref, name));
      }
      return name;
    }
    if (schema.const !== undefined) {
      if (constrained.length > 2 || (constrained.length === 2 && schema.type === undefined))
        this.fail(path, "keywords beside const are not supported");
      return gbnfLiteral(JSON.stringify(schema.const));
    }
    if (schema.enum !== undefined) {
      if (!Array.isArray(schema.enum) || schema.enum.length === 0)
        this.fail(`${path}/enum`, "enum must be a non-empty array");
      if (constrained.length > 2 || (constrained.length === 2 && schema.type === undefined))
        this.fail(path, "keywords beside enum are not supported");
      return `( ${schema.enum.map((v) => gbnfLiteral(JSON.stringify(v))).join(" | ")} )`;
    }
    for (const key of ["anyOf", "oneOf", "allOf"] as const) {
      const list = schema[key];
      if (list === undefined) continue;
      if (!Array.isArray(list) || list.length === 0)
        this.fail(`${path}/${key}`, `${key} must be a non-empty array`);
      if (constrained.length > 1) this.fail(path, `keywords beside ${key} are not supported`);
      if (key === "allOf" && list.length > 1)
        this.fail(`${path}/allOf`, "allOf with more than one schema is not supported");
      const alts = list.map((s, i) => this.expr(s, `${path}/${key}/${i}`, `${hint}-${i}`));
      return alts.length === 1 ? alts[0] : `( ${alts.join(" | ")} )`;
    }
    let type = schema.type;
    if (Array.isArray(type)) {
      if (type.length === 0) this.fail(`${path}/type`, "type array is empty");
      // Each branch keeps the keywords that apply to its type (the others ignore them).
      const alts = type.map((t) => {
        const own = KEYWORDS[t === "integer" ? "number" : String(t)] ?? new Set<string>();
        const sub: Schema = { type: t };
        for (const [k, v] of Object.entries(schema)) if (own.has(k)) sub[k] = v;
        return this.expr(sub, path, `${hint}-${String(t)}`);
      });
      return alts.length === 1 ? alts[0] : `( ${alts.join(" | ")} )`;
    }
    if (type === undefined) {
      const has = (kind: string) => constrained.some((k) => KEYWORDS[kind].has(k));
      type = has("object")
        ? "object"
        : has("array")
          ? "array"
          : has("string")
            ? "string"
            : has("number")
              ? "number"
              : undefined;
      if (type === undefined) return "json-value";
    }
    if (typeof type !== "string") this.fail(`${path}/type`, "type must be a string or an array of strings");
    const allowed = new Set([...KEYWORDS.any, ...(KEYWORDS[type === "integer" ? "number" : type] ?? [])]);
    for (const k of constrained) {
      if (!allowed.has(k)) this.fail(`${path}/${k}`, `keyword '${k}' does not apply to type '${type}'`);
    }
    switch (type) {
      case "object":
        return this.object(schema, path, hint);
      case "array":
        return this.array(schema, path, hint);
      case "string":
        return this.string(schema, path, hint);
      case "number":
      case "integer":
        return this.number(schema, path, type);
      case "boolean":
        return "json-boolean";
      case "null":
        return "json-null";
      default:
        this.fail(`${path}/type`, `unknown type '${type}'`);
    }
  }

  private object(s: Schema, path: string, hint: string): string {
    const props = s.properties ?? {};
    if (!isObj(props)) this.fail(`${path}/properties`, "properties must be an object");
    const required = s.required ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== "string"))
      this.fail(`${path}/required`, "required must be an array of strings");
    const names = Object.keys(props);
    for (const r of required as string[]) {
      if (!names.includes(r)) {
        if (s.additionalProperties === false || s.additionalProperties === undefined)
          this.fail(`${path}/required`, `required property '${r}' is not in properties`);
      }
    }
    const req = new Set(required as string[]);
    const ap = s.additionalProperties;
    let extra: string | undefined;
    if (ap !== undefined && ap !== false) {
      if (required.some((r) => !names.includes(r as string)))
        this.fail(`${path}/required`, "required properties must be listed in properties");
      const v = this.expr(ap, `${path}/additionalProperties`, `${hint}-extra`);
      extra = this.rule(`${hint}-extra-kv`, `json-string ws ":" ws ${v} ws`);
    }
    const kv = names.map((n) =>
      this.rule(
        `${hint}-${n}-kv`,
        `${gbnfLiteral(JSON.stringify(n))} ws ":" ws ${this.expr(props[n], `${path}/properties/${n}`, `${hint}-${n}`)} ws`,
      ),
    );
    // tail[i]: properties i.. each after a comma (required ones mandatory), then extra pairs.
    const tail: string[] = new Array(names.length + 1);
    tail[names.length] = extra ? this.rule(`${hint}-rest`, `( "," ws ${extra} )*`) : "";
    for (let i = names.length - 1; i >= 0; i--) {
      const piece = req.has(names[i]) ? `"," ws ${kv[i]}` : `( "," ws ${kv[i]} )?`;
      tail[i] = this.rule(`${hint}-tail`, `${piece} ${tail[i + 1]}`.trim());
    }
    // The first property present: any property up to and including the first required one.
    const firsts: string[] = [];
    let allOptional = true;
    for (let i = 0; i < names.length; i++) {
      firsts.push(`${kv[i]} ${tail[i + 1]}`.trim());
      if (req.has(names[i])) {
        allOptional = false;
        break;
      }
    }
    if (allOptional && extra) firsts.push(`${extra} ${tail[names.length]}`);
    if (firsts.length === 0) return this.rule(`${hint}-obj`, `"{" ws "}"`);
    const body = `( ${firsts.join(" | ")} )${allOptional ? "?" : ""}`;
    return this.rule(`${hint}-obj`, `"{" ws ${body} "}"`);
  }

  private count(s: Schema, key: string, path: string): number | undefined {
    const v = s[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
      this.fail(`${path}/${key}`, `${key} must be a non-negative integer`);
    if (v > MAX_LEN) this.fail(`${path}/${key}`, `${key} over ${MAX_LEN} is not supported`);
    return v;
  }

  private array(s: Schema, path: string, hint: string): string {
    if (s.uniqueItems === true)
      this.fail(`${path}/uniqueItems`, "uniqueItems cannot be guaranteed by a grammar");
    const min = this.count(s, "minItems", path) ?? 0;
    const max = this.count(s, "maxItems", path) ?? Infinity;
    if (max < min) this.fail(path, "maxItems < minItems");
    const prefix = s.prefixItems;
    if (prefix !== undefined) {
      if (!Array.isArray(prefix)) this.fail(`${path}/prefixItems`, "prefixItems must be an array");
      if (prefix.length > max) this.fail(path, "prefixItems longer than maxItems");
      const ps = prefix.map((p, i) => `${this.expr(p, `${path}/prefixItems/${i}`, `${hint}-${i}`)} ws`);
      let more = "";
      if (s.items !== undefined && s.items !== false && max > prefix.length) {
        const it = this.expr(s.items, `${path}/items`, `${hint}-item`);
        const upper = max === Infinity ? "" : String(max - prefix.length);
        more = ` ( "," ws ${it} ws ){${Math.max(0, min - prefix.length)},${upper}}`;
      } else if (min > prefix.length)
        this.fail(path, "minItems exceeds prefixItems and items allows no more");
      if (ps.length === 0) this.fail(`${path}/prefixItems`, "prefixItems is empty");
      return this.rule(`${hint}-tuple`, `"[" ws ${ps.join(' "," ws ')}${more} "]"`);
    }
    if (max === 0) return this.rule(`${hint}-arr`, `"[" ws "]"`);
    const it = this.expr(s.items ?? true, `${path}/items`, `${hint}-item`);
    const rest = `( "," ws ${it} ws ){${Math.max(0, min - 1)},${max === Infinity ? "" : max - 1}}`;
    const inner = `${it} ws ${rest}`;
    return this.rule(`${hint}-arr`, min === 0 ? `"[" ws ( ${inner} )? "]"` : `"[" ws ${inner} "]"`);
  }

  private string(s: Schema, path: string, hint: string): string {
    if (s.format !== undefined) {
      const f = FORMATS[s.format as string];
      if (!f)
        this.fail(
          `${path}/format`,
          `unsupported string format '${String(s.format)}'`,
          `supported: ${Object.keys(FORMATS).join(", ")}`,
        );
      if (s.minLength !== undefined || s.maxLength !== undefined)
        this.fail(path, "format with minLength/maxLength is not supported");
      return this.rule(`${s.format}`, `"\\"" ${f} "\\""`);
    }
    const min = this.count(s, "minLength", path) ?? 0;
    const max = this.count(s, "maxLength", path) ?? Infinity;
    if (max < min) this.fail(path, "maxLength < minLength");
    if (min === 0 && max === Infinity) return "json-string";
    return this.rule(`${hint}-str`, `"\\"" json-char{${min},${max === Infinity ? "" : max}} "\\""`);
  }

  private number(s: Schema, path: string, type: "number" | "integer"): string {
    const num = (k: string): number | undefined => {
      const v = s[k];
      if (v === undefined) return undefined;
      if (typeof v !== "number" || !Number.isFinite(v))
        this.fail(`${path}/${k}`, `${k} must be a finite number`);
      return v;
    };
    const min = num("minimum");
    const max = num("maximum");
    const xmin = num("exclusiveMinimum");
    const xmax = num("exclusiveMaximum");
    if (min === undefined && max === undefined && xmin === undefined && xmax === undefined) {
      return type === "integer" ? "json-integer" : "json-number";
    }
    // Bounded numbers are generated as integers inside the bounds (an integer is a valid number).
    let lo = -MAX_INT;
    let hi = MAX_INT;
    if (min !== undefined) lo = Math.max(lo, Math.ceil(min));
    if (xmin !== undefined) lo = Math.max(lo, Math.floor(xmin) + 1);
    if (max !== undefined) hi = Math.min(hi, Math.floor(max));
    if (xmax !== undefined) hi = Math.min(hi, Math.ceil(xmax) - 1);
    if (lo > hi)
      this.fail(path, `no ${type === "integer" ? "integer" : "integer-valued number"} satisfies the bounds`);
    return this.rule(`int-${lo}-${hi}`, intRangeGBNF(lo, hi));
  }
}

/** Compile a JSON Schema to GBNF text (start rule `root`). */
export function jsonSchemaToGBNF(schema: unknown): string {
  return new SchemaCompiler(schema).compile();
}
