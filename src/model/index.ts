/**
 * Loading a model: GGUF file -> arch spec (registry) -> config -> bound weights -> Transformer.
 */
import { ModelError } from "../errors.js";
import { openGGUF, type GGUFFile, type GGUFInput } from "../gguf/reader.js";
import { optString } from "../gguf/getters.js";
import { resolveConfig, type ModelConfig } from "./arch/config.js";
import { archSpec } from "./arch/registry.js";
import { TENSOR } from "./arch/spec.js";
import { attachKernels, bindWeights } from "./bind.js";
import { checkFits } from "./memory-limit.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import { Transformer } from "./forward.js";
import type { BlockOps } from "./blocks/ops.js";
import { WeightBinder } from "./weights.js";
import { readLoraAdapter, type LoraAdapter } from "./lora.js";

export { Transformer } from "./forward.js";
export type { ModelConfig } from "./arch/config.js";
export { portableOps, type BlockOps } from "./blocks/ops.js";
export type { KVCache, KVDType } from "../kv/cache.js";
export { LoraAdapter, type LoraRef } from "./lora.js";

/** Config for an opened file, without reading any tensor data. */
export function modelConfig(file: GGUFFile): ModelConfig {
  const arch = optString(file.metadata, "general.architecture");
  if (!arch)
    throw new ModelError("missing 'general.architecture'", {
      file: file.path,
      field: "general.architecture",
    });
  const spec = archSpec(arch);
  const emb = file.tensorByName(TENSOR.tokenEmbd);
  if (!emb)
    throw new ModelError(`missing tensor '${TENSOR.tokenEmbd}'`, {
      file: file.path,
      field: TENSOR.tokenEmbd,
    });
  return resolveConfig(file.metadata, spec, emb.dims[1] ?? 0);
}

export interface LoadOptions {
  /** Run matrix products in this KernelSet (e.g. the WASM SIMD set); default: plain TypeScript. */
  kernels?: KernelSet;
  /**
   * Plain-TS operators for what does not run in the KernelSet (default `portableOps`). The
   * conformance tests pass src/model/reference/ggml-order's `ggmlOrderOps`.
   */
  blockOps?: BlockOps;
}

/**
 * Build a Transformer from an opened GGUF file (tensor bytes are read now, kept in file types).
 * With a KernelSet, a model whose weights cannot fit its memory is refused before anything is
 * read, and each tensor is read, repacked into the set and dropped in turn (peak ~ file size).
 */
export function loadFromFile(file: GGUFFile, opts: LoadOptions = {}): Transformer {
  const config = modelConfig(file);
  const ks = opts.kernels;
  if (ks) checkFits(file, ks);
  const weights = bindWeights(new WeightBinder(file, ks, new Set([TENSOR.tokenEmbd])), config);
  // Tied output: token_embd must live in the set too (logits); then its rows are read from there.
  if (ks) attachKernels(weights, ks);
  return new Transformer(config, weights, ks, opts.blockOps);
}

export async function loadModel(path: GGUFInput, opts: LoadOptions = {}): Promise<Transformer> {
  const file = await openGGUF(path);
  try {
    return loadFromFile(file, opts);
  } finally {
    await file.close();
  }
}

/**
 * Read a LoRA adapter GGUF and check it against `model` (architecture, tensor names, shapes);
 * a mismatch is a ModelError naming the key or tensor. `id` defaults to the path.
 */
export async function loadLoraAdapter(
  path: GGUFInput,
  model: Transformer,
  id?: string,
): Promise<LoraAdapter> {
  const file = await openGGUF(path);
  try {
    return readLoraAdapter(file, model, id ?? (typeof path === "string" ? path : file.path));
  } finally {
    await file.close();
  }
}
