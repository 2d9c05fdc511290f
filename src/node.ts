/**
 * edgellm for Node.js (`edgellm/node`): everything in the isomorphic entry plus the parts that
 * need Node: tool calling (built-in file tools, the code sandbox, MCP), edge/cloud routing, the
 * OpenAI-compatible server and the embedded default model's path.
 *
 *   import { loadLLM, tools, server } from "edgellm/node";
 */
export * from "./index.js";
export * as tools from "./tools/index.js";
export * as router from "./router/index.js";
export * as server from "./server/index.js";
/** PNG / JPEG bytes -> RGB for the vision encoder, within size and pixel limits (issue #22). */
export {
  decodeImage,
  sniffImageFormat,
  DEFAULT_IMAGE_LIMITS,
  type ImageFormat,
  type ImageLimits,
} from "./vision/decode.js";
export { DEFAULT_MODEL_PATH, resolveModelPath } from "./cli/default-model.js";
/** Node 20: turn relaxed SIMD on in-process before loading a model (no-op on Node >= 22). */
export { enableRelaxedSimd } from "./platform/relaxed-simd-node.js";
/** Models from URLs in a cache directory (`edgellm pull`, `-m <url>`). */
export { NodeModelCache, defaultCacheDir, type NodeModelCacheOptions } from "./cache/node-cache.js";
export {
  ModelDownloadError,
  cacheKey,
  type CachedModel,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadErrorCode,
} from "./cache/common.js";
