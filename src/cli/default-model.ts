/**
 * The embedded default model: `models/edgellm-default-q8_0.gguf` (stage v2unitsE, the end of the v2
 * chain), rebuilt by `npm run train:default` and shipped in the package, used by `run`, `chat` and
 * `serve` when no `-m` is given. A URL given as `-m` is pulled into the model cache (cli/pull.ts).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InputError } from "../errors.js";
import { isHttpUrl } from "../cache/common.js";

/** From <outDir>/src/cli/ (dist/ or a .dist-* dir) up to the package root. */
export const DEFAULT_MODEL_PATH = fileURLToPath(
  new URL("../../../models/edgellm-default-q8_0.gguf", import.meta.url),
);

/** The model the user named, or the embedded default. */
export function resolveModelPath(model: string | undefined): string {
  if (model !== undefined) return model;
  if (!existsSync(DEFAULT_MODEL_PATH)) {
    throw new InputError(`no -m given and the default model is missing at ${DEFAULT_MODEL_PATH}`, {
      hint: "pass a GGUF with -m <file>, or rebuild the default model with `npm run train:default`",
    });
  }
  return DEFAULT_MODEL_PATH;
}

/**
 * `-m` as the commands take it: an http(s) URL is pulled into the model cache first (a progress
 * bar on a terminal; no request once cached) and its local path returned; a path is used as is;
 * nothing means the embedded default model.
 */
export async function resolveModel(model: string | undefined): Promise<string> {
  if (model !== undefined && isHttpUrl(model)) {
    const { pullModel } = await import("./pull.js");
    return pullModel(model);
  }
  return resolveModelPath(model);
}
