/**
 * Loading a model: GGUF file -> arch spec (registry) -> config -> bound weights -> Transformer.
 */
import { InputError, ModelError } from "../errors.js";
import { openGGUF, type GGUFFile, type GGUFInput, type GGUFTensorInfo } from "../gguf/reader.js";
import { optString } from "../gguf/getters.js";
import { resolveConfig, type ModelConfig } from "./arch/config.js";
import { archSpec } from "./arch/registry.js";
import { TENSOR } from "./arch/spec.js";
import { attachKernels, bindWeights, type ModelWeights } from "./bind.js";
import { kernelsFor, planPlacement, type Placement, type PlacementTarget } from "./placement.js";
import { ExpertCache, expertSlotBytes, type LayerExperts } from "./expert-cache.js";
import type { GGMLType } from "../gguf/types.js";
import { packedBytes } from "../kernels/wasm/repack.js";
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
  /**
   * Where a mixture-of-experts model's expert weights live: "resident" (default: loaded with the
   * rest), "on-demand" (left in the file and read into an LRU cache on first use, expert-cache.ts;
   * the file then stays open with the model), "auto" (on demand when the model does not fit
   * maxMemory).
   */
  experts?: ExpertPlacement;
  /** Bytes of the expert cache (on demand); default what maxMemory leaves, else every expert. */
  expertCacheBytes?: number;
  /** The shard the expert cache's slots go to first (tests; default the last the weights use). */
  expertSlotShard?: number;
}

export type ExpertPlacement = "resident" | "on-demand" | "auto";
export const EXPERT_PLACEMENTS: readonly ExpertPlacement[] = ["resident", "on-demand", "auto"];

const EXPERT_TENSOR = /^blk\.(\d+)\.ffn_(gate|up|down)_exps\.weight$/;

/** The placement of a model and where its experts go (nothing read, nothing allocated). */
export interface ModelPlan {
  placement: Placement;
  /** Expert tensors left in the file (empty: resident). */
  deferred: Set<string>;
  /** Bytes of the expert cache (0: resident). */
  cacheBytes: number;
}

/** Per MoE layer, the three stacked expert tensors as placeholder Weights (no bytes). */
function expertLayers(file: GGUFFile, names: ReadonlySet<string>): Map<number, LayerExperts> {
  const out = new Map<number, Partial<LayerExperts>>();
  for (const name of names) {
    const m = EXPERT_TENSOR.exec(name)!;
    const t = file.tensorByName(name)!;
    const l = out.get(Number(m[1])) ?? {};
    l[m[2] as "gate" | "up" | "down"] = makeWeight(name, t.type, t.dims, new Uint8Array(0));
    out.set(Number(m[1]), l);
  }
  for (const [l, e] of out)
    if (!e.gate || !e.up || !e.down)
      throw new ModelError(`layer ${l} lacks one of its expert tensors`, { file: file.path });
  return out as Map<number, LayerExperts>;
}

/**
 * Plans where `file`'s matrices go in `ks` (shards) and whether its experts stay on disk; refuses
 * (ModelError with a hint) what cannot fit, before anything is read or allocated: with experts on
 * demand, the other weights + KV + a cache of one token's experts per layer must fit maxMemory.
 */
export function planModel(
  file: GGUFFile,
  ks: PlacementTarget,
  opts: Pick<LoadOptions, "maxMemory" | "kvBytesPerLayer" | "experts" | "expertCacheBytes">,
): ModelPlan {
  const mode = opts.experts ?? "resident";
  if (!EXPERT_PLACEMENTS.includes(mode))
    throw new InputError(`experts must be one of ${EXPERT_PLACEMENTS.join(", ")}, got '${mode}'`, {
      field: "experts",
    });
  const base = { maxMemory: opts.maxMemory, kvBytesPerLayer: opts.kvBytesPerLayer };
  const names = new Set(file.tensors.map((t) => t.name).filter((n) => EXPERT_TENSOR.test(n)));
  if (mode === "on-demand" && names.size === 0)
    throw new ModelError("--experts on-demand: this model has no stacked expert tensors", {
      file: file.path,
      hint: "use --experts resident (or auto) for a dense model",
    });
  if (mode === "resident" || names.size === 0)
    return { placement: planPlacement(file, ks, base), deferred: new Set(), cacheBytes: 0 };
  if (mode === "auto") {
    try {
      return { placement: planPlacement(file, ks, base), deferred: new Set(), cacheBytes: 0 };
    } catch (e) {
      if (!(e instanceof ModelError)) throw e;
    }
  }
  const layers = expertLayers(file, names);
  try {
    // the cache reads experts synchronously, mid-forward: a source without sync reads fails now
    file.readTensorRangeSync(names.values().next().value!, 0, 1);
  } catch (e) {
    throw new ModelError(`experts on demand need a file with synchronous reads: ${(e as Error).message}`, {
      file: file.path,
      hint: "open the model from a local file path (Node), or keep the experts resident",
    });
  }
  const slot = expertSlotBytes(wasmSize, layers.values());
  const nUsed = modelConfig(file).moe?.nUsed ?? 1;
  const min = slot * nUsed;
  const all = slot * [...layers.values()][0]!.gate.nMat * layers.size;
  const p = planPlacement(file, ks, { ...base, deferred: names, extraBytes: min });
  const left = opts.maxMemory === undefined ? all : opts.maxMemory - (p.totalBytes - min);
  const cacheBytes = Math.min(opts.expertCacheBytes ?? left, left);
  if (cacheBytes < min)
    throw new ModelError(
      `an expert cache of ${(cacheBytes / 2 ** 20).toFixed(1)} MiB holds fewer than the ${nUsed} experts one token uses (${(slot / 2 ** 20).toFixed(2)} MiB each)`,
      { file: file.path, field: "expertCacheBytes", hint: "raise the expert cache size or --max-memory" },
    );
  return { placement: { ...p, totalBytes: p.totalBytes - min + cacheBytes }, deferred: names, cacheBytes };
}

/** Prepared bytes of a matrix as the WASM set lays it out (the cache's slot sizing). */
const wasmSize = (type: GGMLType, rows: number, cols: number) =>
  Math.ceil(packedBytes(type, rows, cols) / 64) * 64;

/**
 * The expert cache over `file` for the bound placeholders of deferred experts (see planModel),
 * hooked into each MoE layer (before attachKernels, which leaves those placeholders alone).
 */
function attachExpertCache(
  weights: ModelWeights,
  config: ModelConfig,
  file: GGUFFile,
  plan: ModelPlan,
  ks?: KernelSet,
  slotShard?: number,
): ExpertCache | undefined {
  if (plan.deferred.size === 0) return undefined;
  const layers = expertLayers(file, plan.deferred);
  const cache = new ExpertCache(file, ks, layers, plan.cacheBytes, config.moe?.nUsed ?? 1, slotShard);
  weights.layers.forEach((L, i) => {
    if (L.moe && layers.has(i)) L.moe.onDemand = { cache, layer: i };
  });
  return cache;
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
  const plan = planModel(file, ks ?? ANY_SIZE, opts);
  const p = ks ? plan.placement : undefined;
  const to = ks ? (name: string) => kernelsFor(p, ks, name) : undefined;
  const binder = new WeightBinder(file, ks, new Set([TENSOR.tokenEmbd]), undefined, false, to);
  binder.deferred = plan.deferred;
  const weights = bindWeights(binder, config);
  const experts = attachExpertCache(weights, config, file, plan, ks, opts.expertSlotShard);
  // Tied output: token_embd must live in the set too (logits); then its rows are read from there.
  if (ks) attachKernels(weights, ks, to);
  const model = new Transformer(config, weights, ks, opts.blockOps);
  model.expertCache = experts;
  return model;
}

/** Placement without a KernelSet: everything stays in JavaScript, one "shard". */
const ANY_SIZE: PlacementTarget = { supports: () => false };

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
  const mplan = planModel(file, ks ?? ANY_SIZE, opts);
  const p = ks ? mplan.placement : undefined;
  const to = ks ? (name: string) => kernelsFor(p, ks, name) : undefined;
  if (ks) {
    const plan = WeightBinder.planner(file, ks, keep, mplan.deferred);
    bindWeights(plan, config);
    planned = plan.planned!;
  }
  // file order (offset order in every writer we know; parts in turn); deferred experts stay there
  const order = file.tensors.filter((t) => !mplan.deferred.has(t.name));
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
  const binder = new WeightBinder(view, ks, keep, prepared, false, to);
  binder.deferred = mplan.deferred;
  const weights = bindWeights(binder, config);
  const experts = attachExpertCache(weights, config, file, mplan, ks, opts.expertSlotShard);
  if (ks) attachKernels(weights, ks, to);
  const model = new Transformer(config, weights, ks, opts.blockOps);
  model.expertCache = experts;
  return model;
}

export async function loadModel(
  path: GGUFInput | readonly GGUFInput[],
  opts: LoadOptions = {},
): Promise<Transformer> {
  const file = await openGGUF(path);
  let model: Transformer | undefined;
  try {
    model = loadFromFile(file, opts);
    return model;
  } finally {
    // experts on demand read from the file as long as the model runs (the cache closes it)
    if (!model?.expertCache) await file.close();
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
