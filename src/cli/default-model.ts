/**
 * The embedded default model: `models/edgellm-default-q8_0.gguf` (the last stage of the v2
 * chain, SHIPPED in scripts/train-default.mjs), rebuilt by `npm run train:default` and shipped in
 * the package, used by `run`, `chat` and `serve` when no `-m` is given. A URL given as `-m` is
 * pulled into the model cache (cli/pull.ts).
 * With `--image` and neither `-m` nor `--mmproj`, the embedded tiny vision pair is used instead
 * (issue #22, scripts/vision/reproduce.sh): the default model tuned to read its encoder's rows, and
 * that encoder (`models/edgellm-vision-*.gguf`).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InputError } from "../errors.js";
import { isHttpUrl } from "../cache/common.js";

/** From <outDir>/src/cli/ (dist/ or a .dist-* dir) up to the package root. */
export const DEFAULT_MODEL_PATH = fileURLToPath(
  new URL("../../../models/edgellm-default-q8_0.gguf", import.meta.url),
);

export const DEFAULT_VISION_LM_PATH = fileURLToPath(
  new URL("../../../models/edgellm-vision-lm-f32.gguf", import.meta.url),
);
export const DEFAULT_VISION_MMPROJ_PATH = fileURLToPath(
  new URL("../../../models/edgellm-vision-mmproj-f32.gguf", import.meta.url),
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

/**
 * `-m` and `--mmproj` for a command that may take images: with images and neither flag, the
 * embedded vision pair; otherwise `-m` as resolveModel takes it and `--mmproj` as given.
 */
export async function resolveModelAndMmproj(
  model: string | undefined,
  mmproj: string | undefined,
  images: readonly string[] | undefined,
): Promise<{ model: string; mmproj?: string }> {
  if (images?.length && model === undefined && mmproj === undefined) {
    for (const p of [DEFAULT_VISION_LM_PATH, DEFAULT_VISION_MMPROJ_PATH])
      if (!existsSync(p))
        throw new InputError(`--image without -m/--mmproj: the default vision model is missing at ${p}`, {
          hint: "pass a language model and its mmproj with -m <file> --mmproj <file>, or rebuild the pair with scripts/vision/reproduce.sh",
        });
    return { model: DEFAULT_VISION_LM_PATH, mmproj: DEFAULT_VISION_MMPROJ_PATH };
  }
  return { model: await resolveModel(model), ...(mmproj !== undefined ? { mmproj } : {}) };
}
