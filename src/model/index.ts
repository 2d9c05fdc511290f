/**
 * Loading a model: GGUF file -> arch spec (registry) -> config -> bound weights -> Transformer.
 */
import { ModelError } from "../errors.js";
import { openGGUF, type GGUFFile, type GGUFInput, type GGUFTensorInfo } from "../gguf/reader.js";
import { optString } from "../gguf/getters.js";
import { resolveConfig, type ModelConfig } from "./arch/config.js";
import { archSpec } from "./arch/registry.js";
import { TENSOR } from "./arch/spec.js";
import { attachKernels, bindWeights } from "./bind.js";
import { kernelsFor, planPlacement, type Placement } from "./placement.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import { Transformer } from "./forward.js";
import type { BlockOps } from "./blocks/ops.js";
import { makeWeight, prepareChunked, prepareInto, WeightBinder, type Weight } from "./weights.js";
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
  /** Memory budget in bytes (weights, KV, working room): a model over it is refused before
   *  anything is read (placement.ts). */
  maxMemory?: number;
  /** KV-cache bytes per attention layer at the intended context, counted in the placement. */
  kvBytesPerLayer?: number;
}

/** The placement of `file`'s matrices in `ks` (shards), refusing what cannot fit (nothing read). */
function place(file: GGUFFile, ks: KernelSet, opts: LoadOptions): Placement {
  return planPlacement(file, ks, { maxMemory: opts.maxMemory, kvBytesPerLayer: opts.kvBytesPerLayer });
}

/**
 * Build a Transformer from an opened GGUF file (tensor bytes are read now, kept in file types).
 * With a KernelSet, the matrices are placed first (placement.ts: shards of at most one wasm32
 * memory each, by layer); a model that cannot fit is refused before anything is read, and each
 * tensor is read, repacked into its shard and dropped in turn (peak ~ file size).
 */
export function loadFromFile(file: GGUFFile, opts: LoadOptions = {}): Transformer {
  const config = modelConfig(file);
  const ks = opts.kernels;
  const p = ks ? place(file, ks, opts) : undefined;
  const to = ks ? (name: string) => kernelsFor(p, ks, name) : undefined;
  const weights = bindWeights(
    new WeightBinder(file, ks, new Set([TENSOR.tokenEmbd]), undefined, false, to),
    config,
  );
  // Tied output: token_embd must live in the set too (logits); then its rows are read from there.
  if (ks) attachKernels(weights, ks, to);
  return new Transformer(config, weights, ks, opts.blockOps);
}

export interface StreamLoadOptions extends LoadOptions {
  /**
   * After each tensor is read (file order), with its bytes (valid only during the call); for a
   * matrix read in row chunks, its first and last EDGE_BYTES (weights.ts) instead.
   */
  onTensor?: (t: GGUFTensorInfo, bytes: Uint8Array, loadedBytes: number, totalBytes: number) => void;
}

/**
 * loadFromFile for sources that read asynchronously (URL, Blob/OPFS, file handle), streaming: the
 * binding is planned first without reading anything (a missing tensor fails before a download),
 * the fit is checked, then tensors are read in file order (part by part for a split model), one ahead, and each matrix the
 * KernelSet takes is repacked into its (WASM) memory and dropped at once. Only what stays in
 * JavaScript (norms, token_embd, types the set lacks; everything with plain-TS kernels) is held
 * until binding, so peak memory is ~ the kernels' memory plus one tensor, not twice the file.
 */
export async function streamFromFile(file: GGUFFile, opts: StreamLoadOptions = {}): Promise<Transformer> {
  const config = modelConfig(file);
  const ks = opts.kernels;
  const keep = new Set([TENSOR.tokenEmbd]);
  let planned = new Map<string, number[]>();
  const p = ks ? place(file, ks, opts) : undefined;
  const to = ks ? (name: string) => kernelsFor(p, ks, name) : undefined;
  if (ks) {
    const plan = WeightBinder.planner(file, ks, keep);
    bindWeights(plan, config);
    planned = plan.planned!;
  }
  const order = file.tensors; // file order (offset order in every writer we know; parts in turn)
  const totalBytes = order.reduce((a, t) => a + t.nBytes, 0);
  const kept = new Map<string, Uint8Array>();
  const prepared = new Map<string, Weight>();
  let loadedBytes = 0;
  // Whole-tensor reads (what stays in JavaScript, and matrices the set takes only whole) go one
  // ahead; matrices the set takes in row chunks are read chunk by chunk (prepareChunked).
  const whole = (t: GGUFTensorInfo) => !(ks && planned.has(t.name) && to!(t.name).takesRowChunks?.(t.type));
  let ahead: Promise<Uint8Array> | undefined;
  const readAhead = (i: number) => {
    const t = order[i];
    ahead = t && whole(t) ? file.readTensor(t) : undefined;
  };
  readAhead(0);
  try {
    for (let i = 0; i < order.length; i++) {
      const t = order[i]!;
      const dims = planned.get(t.name);
      if (!whole(t)) {
        const w = makeWeight(t.name, t.type, dims!, new Uint8Array(0));
        const edges = await prepareChunked(w, to!(t.name), (start, length) =>
          file.readTensorRange(t, start, length),
        );
        prepared.set(t.name, w);
        loadedBytes += t.nBytes;
        readAhead(i + 1);
        opts.onTensor?.(t, edges!, loadedBytes, totalBytes);
        continue;
      }
      const bytes = await ahead!;
      readAhead(i + 1);
      loadedBytes += t.nBytes;
      opts.onTensor?.(t, bytes, loadedBytes, totalBytes);
      if (ks && dims) {
        const w = makeWeight(t.name, t.type, dims, bytes);
        prepareInto(w, to!(t.name));
        prepared.set(t.name, w);
      } else kept.set(t.name, bytes);
    }
  } catch (e) {
    void ahead?.catch(() => {}); // the read in flight is abandoned with the load
    throw e;
  }
  const view: GGUFFile = Object.create(file);
  view.readTensorSync = (t) => {
    const name = typeof t === "string" ? t : t.name;
    const b = kept.get(name);
    if (!b) return file.readTensorSync(t);
    kept.delete(name); // bound once
    return b;
  };
  const weights = bindWeights(new WeightBinder(view, ks, keep, prepared, false, to), config);
  if (ks) attachKernels(weights, ks, to);
  return new Transformer(config, weights, ks, opts.blockOps);
}

export async function loadModel(
  path: GGUFInput | readonly GGUFInput[],
  opts: LoadOptions = {},
): Promise<Transformer> {
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
