/**
 * The mmproj format: hyperparameters of a vision encoder + projector GGUF as llama.cpp's
 * `tools/mtmd/clip.cpp` reads them (`clip.*` keys; tensors `v.*` for the encoder, `mm.*` for the
 * projector). Decided from metadata only, never from the model's name.
 *
 * Keys read (vision prefix `clip.vision.`):
 *   clip.projector_type (or clip.vision.projector_type in mixed audio+vision files)
 *   clip.has_vision_encoder                      must be true
 *   image_size, patch_size                       square input side, patch side (pixels)
 *   embedding_length, feed_forward_length, block_count, attention.head_count,
 *   attention.head_dim (optional; default n_embd / n_head), attention.layer_norm_epsilon
 *   image_mean, image_std                        3 floats each (RGB, on pixel/255)
 *   feature_layer (optional int array)           which hidden states feed the projector
 *   image_grid_pinpoints (optional)              LLaVA-1.6 tiling: not run yet (typed error)
 *   clip.use_gelu / clip.use_silu                encoder FFN activation; neither = quick GELU
 *   projector.scale_factor (gemma3, optional)    patches pooled per side (default 4, as clip.cpp)
 *
 * Projectors run: "mlp" (LLaVA-1.5: CLIP ViT, all blocks but the last, MLP) and "gemma3" (SigLIP:
 * all blocks, average pooling of scale_factor^2 patches, RMSNorm, one linear map).
 */
import { GGUFError, ModelError, UnsupportedProjectorError } from "../errors.js";
import { type Metadata, optArray, optBool, optString, optU32, getNumber, getU32 } from "../gguf/getters.js";

/** Every projector name llama.cpp's clip.cpp knows (PROJECTOR_TYPE_NAMES in clip-impl.h). */
const LLAMA_CPP_PROJECTORS = new Set([
  "mlp", "ldp", "ldpv2", "resampler", "adapter", "qwen2vl_merger", "qwen2.5vl_merger",
  "qwen3vl_merger", "step3vl", "gemma3", "gemma3nv", "gemma3na", "gemma4v", "gemma4a", "gemma4uv",
  "gemma4ua", "phi4", "idefics3", "pixtral", "ultravox", "internvl", "llama4", "qwen2a", "qwen3a",
  "glma", "qwen2.5o", "voxtral", "meralion", "musicflamingo", "lfm2", "kimivl", "paddleocr",
  "lightonocr", "cogvlm", "janus_pro", "dots_ocr", "dots3note_v", "dots3note_a", "deepseekocr",
  "deepseekocr2", "deepseek4v", "lfm2a", "glm4v", "youtuvl", "yasa2", "kimik25", "nemotron_v2_vl",
  "exaone4_5", "hunyuanvl", "minicpmv4_6", "granite_speech", "mimovl", "minimax_m3",
  "granite4_vision", "mimo_audio", "parakeet", "qwen3tts_spkenc", "qwen3tts_gen",
  "pockettts_spkenc", "pockettts_gen", "muse-glimmer",
]); // prettier-ignore

/** Projectors this module runs. */
export type ProjectorType = "mlp" | "gemma3";
const SUPPORTED: ReadonlySet<string> = new Set<ProjectorType>(["mlp", "gemma3"]);

/** Encoder FFN activation (clip.use_gelu / clip.use_silu; neither: CLIP's quick GELU). */
export type VisionAct = "gelu" | "gelu_quick" | "silu";

export interface VisionConfig {
  projector: ProjectorType;
  /** Square input side and patch side, in pixels; the encoder sees (imageSize/patchSize)^2 patches. */
  imageSize: number;
  patchSize: number;
  nEmbd: number;
  nHead: number;
  headDim: number;
  nFf: number;
  /** Encoder blocks stored in the file (not all run: see `nLayerRun`). */
  nLayer: number;
  eps: number;
  act: VisionAct;
  /** RGB normalization applied to pixel/255. */
  mean: [number, number, number];
  std: [number, number, number];
  /** clip.vision.feature_layer: hidden-state indices (0 = encoder input) stacked for the projector. */
  featureLayers: number[];
  /** Patches pooled per side before the projector (gemma3: clip.vision.projector.scale_factor, 4). */
  nMerge: number;
}

function triple(md: Metadata, key: string, file?: string): [number, number, number] {
  const a = optArray(md, key);
  if (!a || a.length < 3) {
    throw new GGUFError(`'${key}' must hold at least 3 numbers`, { file, field: key });
  }
  const v = Array.from(a as ArrayLike<unknown>, Number);
  if (v.slice(0, 3).some((x) => !Number.isFinite(x))) {
    throw new GGUFError(`'${key}' holds a non-number`, { file, field: key });
  }
  return [v[0]!, v[1]!, v[2]!];
}

/** The projector type of an mmproj, or a typed error naming it. */
export function readProjectorType(md: Metadata, file?: string): ProjectorType {
  const name = optString(md, "clip.projector_type") ?? optString(md, "clip.vision.projector_type");
  if (name === undefined) {
    throw new ModelError("not an mmproj: no clip.projector_type", {
      file,
      field: "clip.projector_type",
      hint: "pass the vision projector GGUF (llama.cpp's mmproj-*.gguf), not the language model",
    });
  }
  if (!SUPPORTED.has(name)) {
    const known = LLAMA_CPP_PROJECTORS.has(name);
    throw new UnsupportedProjectorError(
      name,
      known,
      known
        ? `projector type '${name}' is not supported yet (supported: ${[...SUPPORTED].join(", ")})`
        : `unknown projector type '${name}'`,
      { file, field: "clip.projector_type" },
    );
  }
  return name as ProjectorType;
}

export function readVisionConfig(md: Metadata, file?: string): VisionConfig {
  if (optBool(md, "clip.has_vision_encoder") !== true) {
    throw new ModelError("this mmproj has no vision encoder (clip.has_vision_encoder)", {
      file,
      field: "clip.has_vision_encoder",
    });
  }
  const projector = readProjectorType(md, file);
  const k = (s: string) => `clip.vision.${s}`;
  const nEmbd = getU32(md, k("embedding_length"));
  const nHead = getU32(md, k("attention.head_count"));
  const headDim = optU32(md, k("attention.head_dim")) ?? (nHead > 0 ? nEmbd / nHead : 0);
  const imageSize = getU32(md, k("image_size"));
  const patchSize = getU32(md, k("patch_size"));
  const field = (f: string, hint?: string) => ({ file, field: k(f), hint });
  if (nHead === 0 || !Number.isInteger(headDim) || headDim === 0)
    throw new ModelError(
      `head count ${nHead} does not divide n_embd ${nEmbd}`,
      field("attention.head_count"),
    );
  if (headDim * nHead !== nEmbd)
    throw new ModelError(
      `head_dim ${headDim} x ${nHead} heads != n_embd ${nEmbd}`,
      field("attention.head_dim"),
    );
  if (patchSize === 0 || imageSize === 0 || imageSize % patchSize !== 0)
    throw new ModelError(
      `image_size ${imageSize} is not a multiple of patch_size ${patchSize}`,
      field("image_size"),
    );
  if (optArray(md, k("image_grid_pinpoints")) !== undefined)
    throw new UnsupportedProjectorError(
      projector,
      true,
      "LLaVA-1.6 tiling (image_grid_pinpoints) is not supported yet",
      {
        ...field("image_grid_pinpoints"),
      },
    );
  const useGelu = optBool(md, "clip.use_gelu") ?? false;
  const useSilu = optBool(md, "clip.use_silu") ?? false;
  if (useGelu && useSilu)
    throw new ModelError("both clip.use_gelu and clip.use_silu are set", { file, field: "clip.use_gelu" });
  const nLayer = getU32(md, k("block_count"));
  const fl = optArray(md, k("feature_layer"));
  const featureLayers = fl ? Array.from(fl as ArrayLike<unknown>, Number) : [];
  for (const v of featureLayers) {
    if (!Number.isInteger(v) || v < 0 || v > nLayer)
      throw new ModelError(`feature layer ${v} is out of range 0..${nLayer}`, field("feature_layer"));
  }
  let nMerge = 1;
  if (projector === "gemma3") {
    nMerge = optU32(md, k("projector.scale_factor")) ?? 4;
    const side = imageSize / patchSize;
    if (nMerge === 0 || side % nMerge !== 0)
      throw new ModelError(
        `gemma3 pooling: ${side} patches per side is not a multiple of scale factor ${nMerge}`,
        field("projector.scale_factor"),
      );
  }
  const eps = getNumber(md, k("attention.layer_norm_epsilon"));
  if (!(eps >= 0))
    throw new ModelError(`layer norm epsilon ${eps} is negative`, field("attention.layer_norm_epsilon"));
  return {
    projector,
    imageSize,
    patchSize,
    nEmbd,
    nHead,
    headDim,
    nFf: getU32(md, k("feed_forward_length")),
    nLayer,
    eps,
    act: useGelu ? "gelu" : useSilu ? "silu" : "gelu_quick",
    mean: triple(md, k("image_mean"), file),
    std: triple(md, k("image_std"), file),
    featureLayers,
    nMerge,
  };
}

/** Patches per side and in all (the encoder's tokens, before a class token). */
export function patchGrid(c: VisionConfig): { side: number; n: number } {
  const side = c.imageSize / c.patchSize;
  return { side, n: side * side };
}
