/**
 * Loading a model: GGUF file -> arch spec (registry) -> config -> bound weights -> Transformer.
 */
import { ModelError } from "../errors.js";
import { openGGUF, type GGUFFile } from "../gguf/reader.js";
import { optString } from "../gguf/getters.js";
import { resolveConfig, type ModelConfig } from "./arch/config.js";
import { archSpec } from "./arch/registry.js";
import { TENSOR } from "./arch/spec.js";
import { attachKernels, bindWeights } from "./bind.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import { Transformer } from "./forward.js";
import { WeightBinder } from "./weights.js";

export { Transformer } from "./forward.js";
export type { ModelConfig } from "./arch/config.js";
export type { KVCache, KVDType } from "../kv/cache.js";

/** Config for an opened file, without reading any tensor data. */
export function modelConfig(file: GGUFFile): ModelConfig {
  const arch = optString(file.metadata, "general.architecture");
  if (!arch) throw new ModelError("missing 'general.architecture'", { file: file.path, field: "general.architecture" });
  const spec = archSpec(arch);
  const emb = file.tensorByName(TENSOR.tokenEmbd);
  if (!emb) throw new ModelError(`missing tensor '${TENSOR.tokenEmbd}'`, { file: file.path, field: TENSOR.tokenEmbd });
  return resolveConfig(file.metadata, spec, emb.dims[1] ?? 0);
}

export interface LoadOptions {
  /** Run matrix products in this KernelSet (e.g. the WASM SIMD set); default: plain TypeScript. */
  kernels?: KernelSet;
}

/** Build a Transformer from an opened GGUF file (tensor bytes are read now, kept in file types). */
export function loadFromFile(file: GGUFFile, opts: LoadOptions = {}): Transformer {
  const config = modelConfig(file);
  const weights = bindWeights(new WeightBinder(file), config);
  if (opts.kernels) attachKernels(weights, opts.kernels);
  return new Transformer(config, weights);
}

export async function loadModel(path: string, opts: LoadOptions = {}): Promise<Transformer> {
  const file = await openGGUF(path);
  try {
    return loadFromFile(file, opts);
  } finally {
    await file.close();
  }
}
