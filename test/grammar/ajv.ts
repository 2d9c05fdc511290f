/** The reference validator (ajv, JSON Schema 2020-12, with ajv-formats), typed loosely for ESM interop. */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const Ajv2020 = require("ajv/dist/2020").default as new (o: object) => {
  compile(s: unknown): ((d: unknown) => boolean) & { errors?: unknown };
};
const addFormats = require("ajv-formats").default as (a: unknown) => void;

export function validator(schema: unknown): ((d: unknown) => boolean) & { errors?: unknown } {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}
