/**
 * edgellm in the browser (`edgellm/web`): the engine in a Web Worker and the OPFS model cache.
 * The isomorphic library (`edgellm`) also runs on a page or in a worker directly; this adds the
 * worker protocol and downloads. dist/web/ holds the bundled worker scripts, kernels and chat UI.
 */
export { WorkerEngine, type ChatEvent } from "./client.js";
export {
  ModelCache,
  ModelDownloadError,
  type CachedModel,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadErrorCode,
} from "./model-cache.js";
export type { ModelSource, ModelInfo, ProgressEvent, LoadPhase } from "./protocol.js";
export { Sha256 } from "./sha256.js";
