/**
 * --mmproj <file> and --image <file> (repeatable) for run, chat and serve (issue #22): the vision
 * encoder + projector is bound into the LLM's kernels, images are read and decoded (PNG, JPEG;
 * ImageError: exit 1) and encoded to embeddings for LLM.encodeChatMedia.
 */
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { ImageError, InputError } from "../errors.js";
import type { LLM, MediaInput } from "../engine/llm.js";
import { openVisionModel, type RgbImage, type VisionModel } from "../vision/index.js";
import { decodeImage, DEFAULT_IMAGE_LIMITS } from "../vision/decode.js";

export const MMPROJ_FLAG = "--mmproj <file>";
export const MMPROJ_HELP = "vision encoder + projector (llama.cpp mmproj GGUF): image input";
export const IMAGE_FLAG = "--image <file>";
export const IMAGE_HELP =
  "an image (PNG or JPEG) put before the message (repeatable; needs --mmproj, or neither -m nor --mmproj for the embedded tiny vision model)";

export function collectImages(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** The mmproj bound to the LLM's kernels; its embeddings must be as wide as the LLM's. */
export async function loadVision(path: string, llm: LLM): Promise<VisionModel> {
  if (!llm.kernels) throw new InputError("--mmproj needs the wasm kernels (--kernels wasm)");
  const vm = await openVisionModel(path, llm.kernels);
  const nEmbd = llm.model.config.nEmbd;
  if (vm.nEmbd !== nEmbd)
    throw new InputError(
      `${path}: the projector writes ${vm.nEmbd}-wide embeddings; the model reads ${nEmbd}`,
      {
        hint: "use the mmproj file made for this language model",
      },
    );
  return vm;
}

/** Read, decode and encode image files (in order) for LLM.encodeChatMedia. */
export async function encodeImageFiles(paths: readonly string[], vm: VisionModel): Promise<MediaInput[]> {
  const out: MediaInput[] = [];
  for (const p of paths) {
    const bytes = await readFile(p).catch((e: NodeJS.ErrnoException) => {
      throw new InputError(`--image ${p}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
    });
    if (bytes.length > DEFAULT_IMAGE_LIMITS.maxBytes)
      throw new InputError(
        `--image ${p}: ${bytes.length} bytes, over the ${DEFAULT_IMAGE_LIMITS.maxBytes}-byte limit`,
      );
    let img: RgbImage;
    try {
      img = decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    } catch (e) {
      if (e instanceof ImageError) throw new ImageError(`--image ${p}: ${e.message}`);
      throw e;
    }
    const e = vm.encodeImage(img);
    const key = createHash("sha256").update(bytes).digest("hex");
    out.push({ data: e.data, nTokens: e.nTokens, key, begin: e.begin, end: e.end, nonCausal: e.nonCausal });
  }
  return out;
}
