/**
 * `--max-memory <size>` on run, chat, serve and inspect: the memory budget a model is placed
 * under (model/placement.ts): weights in their shard memories, the KV pool and working room. A
 * model over it is refused with a typed error and a hint before any tensor is read.
 */
import { InputError } from "../errors.js";
import {
  EXPERT_PLACEMENTS,
  WEIGHT_PLACEMENTS,
  type ExpertPlacement,
  type LoadOptions,
  type WeightPlacement,
} from "../model/index.js";
import { makeNodeLayerLoader, nodeLayerLoader } from "../model/node-layer-loader.js";

/** commander pieces: `.option(MAX_MEMORY_FLAG, MAX_MEMORY_HELP)`. */
export const MAX_MEMORY_FLAG = "--max-memory <size>";
export const MAX_MEMORY_HELP = "memory budget for the model: bytes or 512M, 3G, 1.5GiB (1024-based)";

const UNITS: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** "3G", "1.5GiB", "512m", "4096" -> bytes (K/M/G/T are powers of 1024, with or without B/iB). */
export function parseByteSize(flag: string, s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(s);
  const v = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : Number.NaN;
  if (!(Number.isFinite(v) && v > 0))
    throw new InputError(`${flag} must be a size such as 3G, 512M or 1.5GiB, got '${s}'`, { field: flag });
  return Math.floor(v);
}

export function maxMemoryOption(o: { maxMemory?: string }): number | undefined {
  return o.maxMemory === undefined ? undefined : parseByteSize("--max-memory", o.maxMemory);
}

/** `--experts <mode>`: where a mixture-of-experts model's experts live (model/expert-cache.ts). */
export const EXPERTS_FLAG = "--experts <mode>";
export const EXPERTS_HELP =
  "MoE experts: resident (default), on-demand (read from the file into an LRU cache within --max-memory), auto (on demand when the model does not fit --max-memory)";

/** `--weights <mode>`: where a dense model's layer weights live (model/layer-stream.ts). */
export const WEIGHTS_FLAG = "--weights <mode>";
export const WEIGHTS_HELP =
  "layer weights: resident (default), stream (read from the file into a few layer slots as layers run, within --max-memory), auto (resident when the model fits --max-memory, else streamed; a MoE model's experts go on demand)";

export function weightsOption(o: { weights?: string }): { weights?: WeightPlacement } {
  if (o.weights === undefined) return {};
  if (!(WEIGHT_PLACEMENTS as readonly string[]).includes(o.weights))
    throw new InputError(`--weights must be one of ${WEIGHT_PLACEMENTS.join(", ")}, got '${o.weights}'`, {
      field: "--weights",
    });
  return { weights: o.weights as WeightPlacement };
}

/** `--stream-cache <file>`: the prepared-layout cache of streamed layers (node-layer-loader.ts). */
export const STREAM_CACHE_FLAG = "--stream-cache <file>";
export const STREAM_CACHE_HELP =
  "streamed layers: a prepared-layout cache file, written as layers are first packed (about the size of the streamed layers); later reads skip repacking";

/**
 * The loader of streamed layers for the CLI: reader threads (node-layer-loader.ts), with the
 * prepared-layout cache file `streamCache` if given, or reads on the forward's thread with
 * EDGELLM_STREAM_READER=sync (comparisons; no cache).
 */
export function streamLoaderOption(streamCache?: string): Pick<LoadOptions, "layerLoader"> {
  if (process.env.EDGELLM_STREAM_READER === "sync") return {};
  return { layerLoader: streamCache ? makeNodeLayerLoader({ packedCache: streamCache }) : nodeLayerLoader };
}

export function expertsOption(o: { experts?: string }): { experts?: ExpertPlacement } {
  if (o.experts === undefined) return {};
  if (!(EXPERT_PLACEMENTS as readonly string[]).includes(o.experts))
    throw new InputError(`--experts must be one of ${EXPERT_PLACEMENTS.join(", ")}, got '${o.experts}'`, {
      field: "--experts",
    });
  return { experts: o.experts as ExpertPlacement };
}
