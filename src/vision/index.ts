/**
 * Image input: a vision encoder + projector loaded from llama.cpp's mmproj GGUF, turning an image
 * into embeddings in the language model's input space (one row per image token).
 *
 *   const ks = await createWasmKernelSet({ threads: 2 });
 *   const vm = await openVisionModel("mmproj.gguf", ks);
 *   const emb = vm.encodeImage({ width, height, data });   // emb.data [emb.nTokens][emb.nEmbd]
 *
 * Modules: mmproj.ts (metadata -> VisionConfig, typed errors for projectors we do not run),
 * weights.ts (tensor binding), preprocess.ts + resample.ts (resize / pad / normalize as llama.cpp),
 * encoder.ts (the ViT), projector.ts (encoder states -> LM embeddings), ops.ts (element-wise ops),
 * decode.ts (PNG / JPEG bytes -> RGB within size and pixel limits, pure JS: exported from
 * `edgellm/node`, since jpeg-js carries Node Buffer code paths; browsers decode through the
 * platform, planned).
 * embedding-cache.ts: embeddings by image hash, so a repeated image is encoded once.
 * The language model reads the rows through the engine (LLM.encodeChatMedia puts them at
 * MEDIA_MARKER; engine MediaSpan: own causal forward chunks, as llama.cpp decodes LLaVA images);
 * `serve --mmproj`, `run --image`, `chat --image` use it.
 * Projectors: "mlp" (LLaVA-1.5) and "gemma3" (SigLIP + average pooling; its image rows attend to
 * each other non-causally in the language model, `VisionModel.nonCausal`).
 */
import { openGGUF, type GGUFFile, type GGUFInput } from "../gguf/reader.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import { encode, type EncoderOutput } from "./encoder.js";
import type { RgbImage } from "./image.js";
import { readVisionConfig, type VisionConfig } from "./mmproj.js";
import { preprocess } from "./preprocess.js";
import { type ImageEmbeddings, outputTokens, project } from "./projector.js";
import { bindVisionWeights, projectorDim, type VisionWeights } from "./weights.js";

export type { RgbImage } from "./image.js";
export type { ImageEmbeddings } from "./projector.js";
export type { VisionConfig, ProjectorType, VisionAct } from "./mmproj.js";
export { readVisionConfig, readProjectorType } from "./mmproj.js";
export { preprocess, fitToEncoder, normalizePlanar, resizeWithPad } from "./preprocess.js";
export { resizeRgb, type ResizeFilter } from "./resample.js";
export { ImageEmbeddingCache } from "./embedding-cache.js";

export class VisionModel {
  constructor(
    readonly config: VisionConfig,
    readonly weights: VisionWeights,
    private readonly ks: KernelSet,
  ) {}

  /** Width of each image embedding (the language model's n_embd this projector feeds). */
  get nEmbd(): number {
    return projectorDim(this.weights);
  }

  /** Image tokens per image. */
  get tokensPerImage(): number {
    return outputTokens(this.config);
  }

  /** Encoder hidden states of normalized planar pixels [3][S][S] (before the projector). */
  encodeHidden(pixels: Float32Array): EncoderOutput {
    return encode(this.ks, this.config, this.weights, pixels);
  }

  /** Embeddings of normalized planar pixels [3][S][S] (llama.cpp's preprocessed input). */
  encodePixels(pixels: Float32Array): ImageEmbeddings {
    return project(this.config, this.weights, this.encodeHidden(pixels));
  }

  /** Embeddings of an RGB image: preprocessing as llama.cpp's, then encoder and projector. */
  encodeImage(img: RgbImage): ImageEmbeddings {
    return this.encodePixels(preprocess(img, this.config));
  }
}

/** Bind an open mmproj file; matrices go to `ks` (the file may be closed afterwards). */
export function loadVisionModel(file: GGUFFile, ks: KernelSet): VisionModel {
  const config = readVisionConfig(file.metadata, file.path);
  return new VisionModel(config, bindVisionWeights(file, config, ks), ks);
}

/** Open, bind and close an mmproj (path in Node; URL, Blob or ByteSource anywhere). */
export async function openVisionModel(input: GGUFInput, ks: KernelSet): Promise<VisionModel> {
  const file = await openGGUF(input);
  try {
    return loadVisionModel(file, ks);
  } finally {
    await file.close();
  }
}
