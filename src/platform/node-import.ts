/**
 * Node-only modules loaded on first use by a specifier that bundlers do not follow, so the
 * isomorphic core (`edgellm`) reaches no `node:*` module at load time and a browser bundle of it
 * contains none. `spec` is a builtin ("node:fs/promises") or an absolute URL
 * (`new URL("./x.js", import.meta.url).href`): a relative path would resolve against this file.
 */
import { EdgeLLMError } from "../errors.js";

export const isNode = typeof process !== "undefined" && process.versions?.node !== undefined;

export async function nodeImport<T>(spec: string, what = spec): Promise<T> {
  if (!isNode) {
    throw new EdgeLLMError(`${what} needs Node.js`, {
      hint: "this part of edgellm is Node-only (import it from 'edgellm/node'); in a browser use a Blob, URL or OPFS byte source",
    });
  }
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ spec)) as T;
}
