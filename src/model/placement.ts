/**
 * Where a model's weights will live, decided from the tensor infos alone (nothing read, nothing
 * allocated): which matrices the KernelSet takes, how many bytes each occupies once prepared, and
 * which shard memory each goes to. A WASM set holds at most 4 GiB per memory (wasm32), so weights
 * are split over shards by layer: layer groups are filled in order (layer 0, 1, ..., then the
 * output head) into shard 0 until its weight share (`sharding.shardBytes`) or its memory (with the
 * layers' KV rows and working room) would overflow, then shard 1, and so on. A layer larger than a
 * shard is split by tensor. The forward pass moves the residual rows when consecutive layers live
 * in different shards (forward.ts), so fewer boundaries mean fewer copies.
 *
 * Refusals are ModelErrors with a hint, thrown before any tensor is read: a budget (`maxMemory`,
 * the CLI's --max-memory) below the estimate, one tensor larger than a shard memory, or a set
 * without shards asked to hold more than one memory.
 */
import { ModelError } from "../errors.js";
import type { GGUFFile, GGUFTensorInfo } from "../gguf/reader.js";
import type { KernelSet, KernelSharding } from "../kernels/kernel-set.js";
import { SHARD_WORKING_ROOM } from "../kernels/wasm/arena.js";
import { packedBytes } from "../kernels/wasm/repack.js";
import { TENSOR } from "./arch/spec.js";

/** Room kept in each shard memory for activations, quantized-activation scratch and buffers. */
const WORKING_ROOM = SHARD_WORKING_ROOM;

/** What placing needs of a KernelSet: its weight types and shard sizes (no memory is touched). */
export interface PlacementTarget {
  supports: KernelSet["supports"];
  readonly sharding?: Pick<KernelSharding, "shardBytes" | "memoryLimit">;
}

export interface PlacementOptions {
  /** Memory budget in bytes for everything the model holds (weights, KV rows, working room). */
  maxMemory?: number;
  /** KV-cache bytes of one attention layer at the intended context (0 or absent: not counted). */
  kvBytesPerLayer?: number;
  /** Tensors left in the file (experts on demand): neither placed nor counted. */
  deferred?: ReadonlySet<string>;
  /** Bytes reserved besides the placed weights (the expert cache), counted in the total. */
  extraBytes?: number;
  /** What extraBytes is, for the refusal message ("expert cache at least", "layer slots + KV"). */
  extraWhat?: string;
  /** What `deferred` is, for the refusal message (default "the experts left on disk"). */
  deferredWhat?: string;
}

export interface ShardPlan {
  /** Layers whose weights are (all or partly) in this shard. */
  layers: number[];
  /** Whether the output head (output.weight, or the tied token_embd) is here. */
  head: boolean;
  /** Prepared weight bytes. */
  weightBytes: number;
  /** KV rows of its layers (kvBytesPerLayer each). */
  kvBytes: number;
}

export interface Placement {
  /** Prepared matrix name -> shard index. Names absent stay in JavaScript memory. */
  shardOf: Map<string, number>;
  shards: ShardPlan[];
  /** Bytes of every prepared matrix. */
  weightBytes: number;
  /** Bytes of tensors kept in JavaScript memory (untied token_embd, norms, types without a kernel). */
  jsBytes: number;
  kvBytes: number;
  /** Estimated total: weights + JS-held tensors + KV + one working room per shard. */
  totalBytes: number;
  /** The budget checked, if any. */
  maxMemory: number | undefined;
}

/** Whether the KernelSet will hold this tensor (token_embd only when it is also the output). */
function prepared(t: GGUFTensorInfo, ks: PlacementTarget, tied: boolean): boolean {
  if (t.dims.length < 2 || !ks.supports(t.type)) return false;
  return t.name !== TENSOR.tokenEmbd || tied;
}

function tensorPreparedBytes(t: GGUFTensorInfo): number {
  const nMat = t.dims.slice(2).reduce((a, b) => a * b, 1);
  return nMat * packedBytes(t.type, t.dims[1] ?? 1, t.dims[0] ?? 1);
}

/**
 * The layer matrices (`blk.N.*`) the set would hold, by layer: what dense streaming leaves in the
 * file (model/layer-stream.ts).
 */
export function layerMatrices(file: GGUFFile, ks: PlacementTarget): Map<number, GGUFTensorInfo[]> {
  const tied = !file.tensorByName(TENSOR.output);
  const out = new Map<number, GGUFTensorInfo[]>();
  for (const t of file.tensors) {
    const l = layerOf(t.name);
    if (l < 0 || !prepared(t, ks, tied)) continue;
    let g = out.get(l);
    if (!g) out.set(l, (g = []));
    g.push(t);
  }
  return out;
}

/** Bytes the set will hold for this file's matrices. */
export function preparedBytes(file: GGUFFile, ks: PlacementTarget): number {
  const tied = !file.tensorByName(TENSOR.output);
  let total = 0;
  for (const t of file.tensors) if (prepared(t, ks, tied)) total += tensorPreparedBytes(t);
  return total;
}

/** 3.61 GiB, or 872.0 MiB under 1 GiB. */
const gib = (n: number) =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;

/** The layer a tensor belongs to (`blk.N.`), or -1 (token_embd, output, output_norm, ...). */
function layerOf(name: string): number {
  const m = /^blk\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : -1;
}

/** Plans shards for `file` in `ks` (see the file comment); throws ModelError when it cannot fit. */
export function planPlacement(file: GGUFFile, ks: PlacementTarget, opts: PlacementOptions = {}): Placement {
  const tied = !file.tensorByName(TENSOR.output);
  const kvPer = opts.kvBytesPerLayer ?? 0;
  const sh = ks.sharding;
  const memLimit = sh?.memoryLimit ?? Number.POSITIVE_INFINITY;
  const shardBytes = sh ? Math.min(sh.shardBytes, memLimit - WORKING_ROOM) : Number.POSITIVE_INFINITY;
  // Groups in forward order: layers, then the head (and any other prepared non-layer matrix).
  const groups = new Map<number, GGUFTensorInfo[]>();
  let jsBytes = 0;
  for (const t of file.tensors) {
    if (opts.deferred?.has(t.name)) continue;
    if (!prepared(t, ks, tied)) {
      jsBytes += t.nBytes;
      continue;
    }
    const l = layerOf(t.name);
    const key = l < 0 ? Number.MAX_SAFE_INTEGER : l;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(t);
  }
  const order = [...groups.keys()].sort((a, b) => a - b);
  const shards: ShardPlan[] = [{ layers: [], head: false, weightBytes: 0, kvBytes: 0 }];
  const shardOf = new Map<string, number>();
  const cur = () => shards[shards.length - 1]!;
  const next = () => shards.push({ layers: [], head: false, weightBytes: 0, kvBytes: 0 });
  const fits = (s: ShardPlan, w: number, kv: number) =>
    s.weightBytes + w <= shardBytes && s.weightBytes + s.kvBytes + w + kv + WORKING_ROOM <= memLimit;
  const put = (s: ShardPlan, t: GGUFTensorInfo, bytes: number, key: number) => {
    shardOf.set(t.name, shards.indexOf(s));
    s.weightBytes += bytes;
    if (key === Number.MAX_SAFE_INTEGER) s.head = true;
    else if (!s.layers.includes(key)) {
      s.layers.push(key);
      s.kvBytes += kvPer;
    }
  };
  for (const key of order) {
    const ts = groups.get(key)!;
    const sizes = ts.map(tensorPreparedBytes);
    const total = sizes.reduce((a, b) => a + b, 0);
    const kv = key === Number.MAX_SAFE_INTEGER ? 0 : kvPer;
    for (let i = 0; i < ts.length; i++) {
      if (sizes[i]! + WORKING_ROOM > memLimit)
        throw new ModelError(
          `tensor '${ts[i]!.name}' needs ${gib(sizes[i]!)} once prepared; one WebAssembly memory holds ${gib(memLimit - WORKING_ROOM)} besides its working room`,
          { file: file.path, field: ts[i]!.name, hint: "use a smaller quantization of this model" },
        );
    }
    // A group that does not fit what is left starts a fresh shard.
    if (!fits(cur(), total, kv) && cur().weightBytes > 0) next();
    if (fits(cur(), total, kv)) {
      for (let i = 0; i < ts.length; i++) put(cur(), ts[i]!, sizes[i]!, key);
      continue;
    }
    // Larger than one shard: split by tensor (a tensor alone in a shard may exceed its share).
    for (let i = 0; i < ts.length; i++) {
      const addKv = cur().layers.includes(key) ? 0 : kv;
      if (!fits(cur(), sizes[i]!, addKv) && cur().weightBytes > 0) next();
      put(cur(), ts[i]!, sizes[i]!, key);
    }
  }
  if (shards.length > 1 && !sh) {
    throw new ModelError("the model's weights need several memories and this KernelSet has one", {
      file: file.path,
      hint: "use the WASM kernels (they shard weights over several memories)",
    });
  }
  const weightBytes = shards.reduce((a, s) => a + s.weightBytes, 0);
  const kvBytes = shards.reduce((a, s) => a + s.kvBytes, 0);
  const extra = opts.extraBytes ?? 0;
  const totalBytes = weightBytes + jsBytes + kvBytes + extra + (sh ? shards.length * WORKING_ROOM : 0);
  const p: Placement = {
    shardOf,
    shards,
    weightBytes,
    jsBytes,
    kvBytes,
    totalBytes,
    maxMemory: opts.maxMemory,
  };
  if (opts.maxMemory !== undefined && totalBytes > opts.maxMemory) {
    throw new ModelError(
      `the model needs about ${gib(totalBytes)} (weights ${gib(weightBytes)}${opts.deferred?.size ? ` besides ${opts.deferredWhat ?? "the experts left on disk"}` : ""}, in JavaScript ${gib(jsBytes)}, KV cache ${gib(kvBytes)}${extra ? `, ${opts.extraWhat ?? "expert cache at least"} ${gib(extra)}` : ""}, working room ${gib(totalBytes - weightBytes - jsBytes - kvBytes - extra)}); the memory budget is ${gib(opts.maxMemory)}`,
      {
        file: file.path,
        hint: opts.deferred?.size
          ? "raise --max-memory, use a smaller quantization, or a shorter context"
          : "raise --max-memory, use a smaller quantization, a shorter context, --weights stream (layers read from the file as they run), or --experts on-demand for a mixture-of-experts model",
      },
    );
  }
  return p;
}

/** The KernelSet a planned matrix goes to (its shard, created on first use), or `ks` itself. */
export function kernelsFor(p: Placement | undefined, ks: KernelSet, name: string): KernelSet {
  const s = p?.shardOf.get(name) ?? 0;
  return s === 0 || !ks.sharding ? ks : ks.sharding.shard(s);
}

/** "shard 0: layers 0-15 (3.61 GiB)", one per shard. */
export function describePlacement(p: { shards: readonly ShardPlan[] }): string[] {
  return p.shards.map((s, i) => {
    const ls = s.layers;
    const span =
      ls.length === 0 ? "" : ls.length === 1 ? `layer ${ls[0]}` : `layers ${ls[0]}-${ls[ls.length - 1]}`;
    const what = [span, s.head ? "output head" : ""].filter((x) => x).join(" + ") || "nothing";
    const kv = s.kvBytes > 0 ? `, KV ${gib(s.kvBytes)}` : "";
    return `shard ${i}: ${what} (weights ${gib(s.weightBytes)}${kv})`;
  });
}
