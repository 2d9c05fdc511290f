/**
 * Loading a model: GGUF file -> arch spec (registry) -> config -> bound weights -> Transformer.
 */
import { GGUFError, InputError, ModelError } from "../errors.js";
import { openGGUF, type GGUFFile, type GGUFInput, type GGUFTensorInfo } from "../gguf/reader.js";
import { optString } from "../gguf/getters.js";
import { resolveConfig, type ModelConfig } from "./arch/config.js";
import { archSpec } from "./arch/registry.js";
import { TENSOR } from "./arch/spec.js";
import { attachKernels, bindWeights, type ModelWeights } from "./bind.js";
import {
  kernelsFor,
  layerMatrices,
  planPlacement,
  type Placement,
  type PlacementTarget,
} from "./placement.js";
import { LayerStream, layerSlotBytes, type LayerLoaderFactory } from "./layer-stream.js";
import { SHARD_WORKING_ROOM } from "../kernels/wasm/arena.js";
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
  /**
   * Where a dense model's layer weights live: "resident" (default), "stream" (left in the file;
   * a few layer slots in kernel memory are refilled from the file as layers run, layer-stream.ts;
   * the file stays open with the model), "auto" (resident when the model fits maxMemory; else
   * experts on demand for a mixture-of-experts model, streaming for a dense one).
   */
  weights?: WeightPlacement;
  /** Layer slots when streaming (default: as many as maxMemory leaves room for). */
  streamSlots?: number;
  /**
   * What reads and packs streamed layers into their slots (default: synchronous reads and packing
   * on the forward's thread; Node: node-layer-loader.ts reads and packs ahead in a worker).
   */
  layerLoader?: LayerLoaderFactory;
}

export type WeightPlacement = "resident" | "stream" | "auto";
export const WEIGHT_PLACEMENTS: readonly WeightPlacement[] = ["resident", "stream", "auto"];

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
  /** Dense streaming: the layer matrices left in the file (by layer), slots and bytes of one. */
  stream?: { layers: Map<number, string[]>; slots: number; slotBytes: number };
}

/** Checks that `file` reads synchronously (the forward pass reads mid-step); `what` names the feature. */
function checkSyncReads(file: GGUFFile, name: string, what: string, hint: string): void {
  try {
    file.readTensorRangeSync(name, 0, 1);
  } catch (e) {
    if (!(e instanceof GGUFError) || !/asynchronously only/.test(e.message)) throw e;
    throw new ModelError(`${what} need a file with synchronous reads; this one reads asynchronously only`, {
      file: file.path,
      hint,
    });
  }
}

/**
 * The plan of a dense model streamed layer by layer (layer-stream.ts): every layer matrix the set
 * takes stays in the file; the output head, embeddings, norms and the KV rows of every layer are
 * resident, in the first memory with the layer slots; a read-ahead buffer of one slot is counted
 * besides (in JavaScript memory). Refused (ModelError with a hint, before
 * anything is allocated) when one layer slot + KV + the rest + working room exceed maxMemory, or
 * exceed one WebAssembly memory.
 */
function planStream(
  file: GGUFFile,
  ks: PlacementTarget,
  opts: Pick<LoadOptions, "maxMemory" | "kvBytesPerLayer" | "streamSlots">,
): ModelPlan {
  const byLayer = layerMatrices(file, ks);
  if (byLayer.size === 0)
    throw new ModelError("--weights stream: no layer matrix of this model goes to the kernels", {
      file: file.path,
      hint: "load the model with the WASM kernels, or keep its weights resident",
    });
  const first = byLayer.values().next().value![0]!;
  checkSyncReads(
    file,
    first.name,
    "streamed layers",
    "open the model from a local file path (Node) or from OPFS in a worker (the browser model cache), or keep the weights resident",
  );
  const shape = (t: GGUFTensorInfo) => ({
    type: t.type,
    cols: t.dims[0] ?? 1,
    rows: t.dims[1] ?? 1,
    nMat: t.dims.slice(2).reduce((a, b) => a * b, 1),
  });
  const slot = layerSlotBytes(
    wasmSize,
    [...byLayer.values()].map((ts) => ts.map(shape)),
  );
  const kv = (opts.kvBytesPerLayer ?? 0) * modelConfig(file).nLayers;
  const deferred = new Set([...byLayer.values()].flat().map((t) => t.name));
  // one slot's worth of read-ahead staging (node-layer-loader.ts) is counted whether used or not
  const p = planPlacement(file, ks, {
    maxMemory: opts.maxMemory,
    deferred,
    extraBytes: 2 * slot + kv,
    extraWhat: "KV cache + one layer slot + its read-ahead buffer",
    deferredWhat: "the layers left on disk",
  });
  const n = byLayer.size;
  let slots =
    opts.streamSlots ??
    (opts.maxMemory === undefined ? n : Math.floor((opts.maxMemory - (p.totalBytes - slot)) / slot));
  // the slots, the KV rows and the head share the first memory (the layers run there)
  const limit = ks.sharding?.memoryLimit;
  const room =
    limit === undefined
      ? Number.POSITIVE_INFINITY
      : limit - SHARD_WORKING_ROOM - p.shards[0]!.weightBytes - kv;
  slots = Math.min(slots, n, Math.floor(room / slot));
  if (!(slots >= 1))
    throw new ModelError(
      `streamed layers: one layer slot (${(slot / 2 ** 20).toFixed(1)} MiB) + the KV cache (${(kv / 2 ** 20).toFixed(1)} MiB) + the output head do not fit ${room < slot ? "one WebAssembly memory" : "the memory budget"}`,
      { file: file.path, hint: "raise --max-memory, use a shorter context or a smaller quantization" },
    );
  const layers = new Map([...byLayer].map(([l, ts]) => [l, ts.map((t) => t.name)]));
  return {
    placement: { ...p, kvBytes: kv, totalBytes: p.totalBytes - slot + slots * slot },
    deferred,
    cacheBytes: 0,
    stream: { layers, slots, slotBytes: slot },
  };
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
  opts: Pick<
    LoadOptions,
    "maxMemory" | "kvBytesPerLayer" | "experts" | "expertCacheBytes" | "weights" | "streamSlots"
  >,
): ModelPlan {
  const wmode = opts.weights ?? "resident";
  if (!WEIGHT_PLACEMENTS.includes(wmode))
    throw new InputError(`weights must be one of ${WEIGHT_PLACEMENTS.join(", ")}, got '${wmode}'`, {
      field: "weights",
    });
  const names = new Set(file.tensors.map((t) => t.name).filter((n) => EXPERT_TENSOR.test(n)));
  // weights auto on a mixture-of-experts model: its experts go on demand when it does not fit
  const mode = opts.experts ?? (wmode === "auto" && names.size > 0 ? "auto" : "resident");
  if (!EXPERT_PLACEMENTS.includes(mode))
    throw new InputError(`experts must be one of ${EXPERT_PLACEMENTS.join(", ")}, got '${mode}'`, {
      field: "experts",
    });
  const base = { maxMemory: opts.maxMemory, kvBytesPerLayer: opts.kvBytesPerLayer };
  if (mode === "on-demand" && names.size === 0)
    throw new ModelError("--experts on-demand: this model has no stacked expert tensors", {
      file: file.path,
      hint: "use --experts resident (or auto) for a dense model, or --weights stream",
    });
  if (wmode === "stream" && names.size > 0)
    throw new ModelError("--weights stream streams dense models; this one has stacked experts", {
      file: file.path,
      hint: "use --experts on-demand (experts read from the file into a cache) for a mixture-of-experts model",
    });
  if (wmode === "stream") return planStream(file, ks, opts);
  if (names.size === 0 && wmode === "auto") {
    try {
      return { placement: planPlacement(file, ks, base), deferred: new Set(), cacheBytes: 0 };
    } catch (e) {
      if (!(e instanceof ModelError)) throw e;
      return planStream(file, ks, opts);
    }
  }
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
  // the cache reads experts synchronously, mid-forward: a source without sync reads fails now
  checkSyncReads(
    file,
    names.values().next().value!,
    "experts on demand",
    "open the model from a local file path (Node) or from OPFS in a worker (the browser model cache), or keep the experts resident",
  );
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
  if (plan.deferred.size === 0 || plan.stream) return undefined;
  const layers = expertLayers(file, plan.deferred);
  const cache = new ExpertCache(file, ks, layers, plan.cacheBytes, config.moe?.nUsed ?? 1, slotShard);
  weights.layers.forEach((L, i) => {
    if (L.moe && layers.has(i)) L.moe.onDemand = { cache, layer: i };
  });
  return cache;
}

/** Every Weight (matrix or stack) reachable from a layer's weights, by name. */
function layerWeights(o: unknown, out = new Map<string, Weight>(), depth = 0): Map<string, Weight> {
  if (!o || typeof o !== "object" || ArrayBuffer.isView(o) || depth > 3) return out;
  const w = o as Partial<Weight>;
  if (typeof w.name === "string" && typeof w.rowBytes === "number") out.set(w.name, w as Weight);
  else for (const v of Object.values(o)) layerWeights(v, out, depth + 1);
  return out;
}

/** The layer stream over `file` for the bound placeholders of streamed layers (see planStream). */
function attachLayerStream(
  weights: ModelWeights,
  file: GGUFFile,
  plan: ModelPlan,
  ks: KernelSet | undefined,
  opts: Pick<LoadOptions, "layerLoader">,
): LayerStream | undefined {
  if (!plan.stream) return undefined;
  if (!ks)
    throw new ModelError("streamed layers need the WASM kernels", {
      file: file.path,
      hint: "load the model with the WASM kernels, or keep its weights resident",
    });
  const layers = new Map<number, Weight[]>();
  for (const [l, names] of plan.stream.layers) {
    const bound = layerWeights(weights.layers[l]);
    layers.set(
      l,
      names.map((n) => {
        const w = bound.get(n);
        if (!w)
          throw new ModelError(`streamed tensor '${n}' is not a matrix of layer ${l}`, { file: file.path });
        return w;
      }),
    );
  }
  return new LayerStream(file, ks, layers, plan.stream.slots, opts.layerLoader);
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
  const stream = attachLayerStream(weights, file, plan, ks, opts);
  // Tied output: token_embd must live in the set too (logits); then its rows are read from there.
  if (ks) attachKernels(weights, ks, to, plan.deferred);
  const model = new Transformer(config, weights, ks, opts.blockOps);
  model.expertCache = experts;
  model.layerStream = stream;
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
  const stream = attachLayerStream(weights, file, mplan, ks, opts);
  if (ks) attachKernels(weights, ks, to, mplan.deferred);
  const model = new Transformer(config, weights, ks, opts.blockOps);
  model.expertCache = experts;
  model.layerStream = stream;
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
    // experts on demand and streamed layers read from the file as long as the model runs
    if (!model?.openFile) await file.close();
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
