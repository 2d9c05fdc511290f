/**
 * THE forward pass. Every caller (run, logits, chat, serve, eval, bench, the conformance harness)
 * goes through `forwardBatch(model, segments)`: one step over the new tokens of several sequences
 * at once (continuous batching); `Transformer.forward` is that call with one segment.
 *
 *   x [nRows = sum nTok][nEmbd] = embeddings of every segment's new tokens (or given rows)
 *   per layer: norm -> q/k/v (one product per weight over all rows; per-row RoPE angles)
 *              -> per segment: KV write + causal attention on that sequence's cache
 *              -> wo, residual -> norm -> dense or MoE FFN, residual
 *   the last layer keeps only the rows whose logits are wanted (llama.cpp's inp_out_ids),
 *   final norm, output head -> logits [outputs][nVocab].
 *
 * Two operator sets, chosen by whether the model carries a KernelSet:
 *  - production (`model.kernels`): products, norms, SwiGLU, residual adds and attention run in the
 *    KernelSet (WASM SIMD, own summation order); activations live in reusable scratch buffers in
 *    the set's memory (no per-step allocation besides the returned logits); attention reads the
 *    paged KV cache in place through `KVCache.kernelView` (f32 or f16 rows).
 *  - plain TS (no KernelSet): `model.ops` (blocks/ops.ts). Users get `portableOps`; the
 *    conformance tests pass the reference set of src/model/reference/ggml-order (one llama.cpp
 *    build's float order), which no production module imports.
 * Whatever the set, the parts that stay in TS (MoE routing and experts' SwiGLU, MLA, weights of a
 * type without a kernel) go through `model.ops` too.
 *
 * Plug points for later issues (interfaces only; see each):
 *  - Segment.embeddings (image issue): input rows instead of token ids [implemented];
 *    Segment.nonCausal spans [implemented: Gemma 3 images; rows see the whole span].
 *  - Segment.lora (LoRA issue) [implemented, lora.ts]: rows grouped by adapter list; after each
 *    adaptable base product (q/k/v/qkv, wo, gate/up/down, output) each group adds scale*B(A x).
 *    With a KernelSet holding base and adapters, the A products run in the base products' own
 *    dispatch (the fused norm kept) and all B products of a site in one ks.matmulBatch; when one
 *    adapter list covers all rows, the B products too (KernelSet low-rank deltas).
 *  - layerWindow / LayerKind (architectures issue): per-layer sliding windows (the attention
 *    kernel takes a window) and recurrent layers whose state lives in the cache (KVCache.state).
 *  - Quantized K/V, per-head eviction, RoPE shift (KV issue): behind KVCache / PagedKV.
 *  - Weights in several WASM memories (shards, placement.ts) [implemented]: each Weight carries
 *    the KernelSet of its shard (weights.ts `kernel.ks`); each layer runs in the shard of its
 *    weights (`model.kernelsOf(l)`), with its activations in that shard's scratch
 *    (`model.active`). Where layer l's shard differs from the previous one, only the residual
 *    rows [rows][nEmbd] are copied across; the KV rows of a layer live in its shard too
 *    (BlockPool's per-layer sets). Same kernels, same order: logits are bit-identical to one
 *    memory. A weight in another shard than the active one still works (its set copies the
 *    activation in and the result out).
 */
import { InputError } from "../errors.js";
import type { ExpertCache } from "./expert-cache.js";
import type { LayerStream } from "./layer-stream.js";
import { DenseKVCache, type KVCache, type KVDType } from "../kv/cache.js";
import { PagedKVCache } from "../kv/paged-cache.js";
import { hadamardRows, kvRotation } from "../kv/hadamard.js";
import { accumulateAttention } from "../kv/attn-scores.js";
import { BlockPool } from "../kv/paged-pool.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import type { ModelConfig } from "./arch/config.js";
import type { AttnWeights, DeltaNetWeights, ModelWeights, ShortConvWeights } from "./bind.js";
import type { RecurrentShape, RecurrentState } from "../kv/recurrent.js";
import { swiglu, type FfnWeights } from "./blocks/ffn.js";
import { getRow } from "./blocks/linear.js";
import { portableOps, type BlockOps } from "./blocks/ops.js";
import { mlaCacheWidth, mlaCore, mlaOut, mlaQKV } from "./blocks/mla.js";
import { moeFfn } from "./blocks/moe.js";
import { rmsNorm } from "./blocks/norm.js";
import { softcap } from "./blocks/attention.js";
import { shortConvStep } from "./blocks/short-conv.js";
import { deltaNetStep } from "./blocks/delta-net.js";
import { Rope, type RopeAngles } from "./blocks/rope.js";
import type { Weight } from "./weights.js";
import {
  applyLora,
  checkLoraRefs,
  loraAProducts,
  loraBProducts,
  loraDeltas,
  loraInKernels,
  loraKey,
  type LoraA,
  type LoraGroup,
  type LoraRef,
} from "./lora.js";

export interface Segment {
  /** New token ids of this sequence (with `embeddings`: only their count matters). */
  tokens: ArrayLike<number>;
  /** Input rows [nTok][nEmbd] used in place of the token embeddings (image/audio encoders). */
  embeddings?: Float32Array;
  /**
   * [start, end) row spans (sorted, disjoint) attended bidirectionally: a row of a span also sees
   * the span's later rows (llama.cpp decodes a Gemma 3 image with causal attention off). With a
   * sliding window the span must end within the first window positions (else an InputError).
   */
  nonCausal?: ReadonlyArray<readonly [number, number]>;
  /** Positions continue from cache.length; the cache must already have room (paged: reserved). */
  cache: KVCache;
  /** Indices into `tokens` whose logits are wanted (e.g. the last one; none mid-prefill). */
  outputs: number[];
  /** LoRA adapters (with scales) whose deltas apply to this segment's rows (lora.ts). */
  lora?: readonly LoraRef[];
}

/** Which product a matrix is, for LoRA deltas and the profiler. */
export type TensorKind = "qkv" | "wo" | "gate_up" | "down" | "moe" | "output";

/**
 * Planned (architectures issue): what layer l is. "attention" layers use the KV cache with
 * `layerWindow(l)`; "recurrent" layers (delta-net, short-conv) keep a fixed-size state per
 * sequence, which the cache will expose as `state(layer)` beside its K/V rows.
 */
export type LayerKind = "attention" | "recurrent";

/**
 * Per-op wall time (ms) of forward passes and engine steps, split by phase ("prefill": a step with
 * a multi-token segment, "decode": one token per sequence), filled when attached to a model.
 */
export class OpProfiler {
  phase = "all";
  readonly byPhase = new Map<string, Map<string, number>>();
  /** Adds now - t0 to `op` of the current phase; returns now (chain: t = p.lap("x", t)). */
  lap(op: string, t0: number): number {
    const t = performance.now();
    this.add(op, t - t0);
    return t;
  }
  add(op: string, ms: number): void {
    let m = this.byPhase.get(this.phase);
    if (!m) this.byPhase.set(this.phase, (m = new Map()));
    m.set(op, (m.get(op) ?? 0) + ms);
  }
  reset(): void {
    this.byPhase.clear();
  }
}

/** Reusable activation buffers, in the KernelSet's memory when there is one (kernels read them in place). */
class Scratch {
  private readonly bufs = new Map<string, { b: Float32Array; view: Float32Array }>();
  constructor(private readonly ks: KernelSet | undefined) {}
  /** A view of n floats; the same view object while n repeats (decode allocates none). */
  get(name: string, n: number): Float32Array {
    let e = this.bufs.get(name);
    if (!e || e.b.length < n) {
      const size = Math.max(n, (e?.b.length ?? 0) * 2, 64);
      const b = this.ks ? this.ks.alloc(size) : new Float32Array(size);
      e = { b, view: b.subarray(0, n) };
      this.bufs.set(name, e);
    }
    if (e.view.length !== n || e.view.buffer !== e.b.buffer) e.view = e.b.subarray(0, n);
    return e.view;
  }
}

/** x[0, n) without a new view object when x is exactly that long. */
function head(x: Float32Array, n: number): Float32Array {
  return x.length === n ? x : x.subarray(0, n);
}

/** x[a, b) without a new view object when that is all of x. */
function span(x: Float32Array, a: number, b: number): Float32Array {
  return a === 0 && b === x.length ? x : x.subarray(a, b);
}

/** The KernelSet of the first prepared matrix found in a layer's (or a weight's) fields. */
function firstKernels(o: unknown, depth: number): KernelSet | undefined {
  if (!o || typeof o !== "object" || ArrayBuffer.isView(o) || depth > 3) return undefined;
  const w = o as Partial<Weight>;
  if (w.kernel) return w.kernel.ks;
  if (w.mats) return w.mats[0]?.kernel?.ks;
  for (const v of Object.values(o)) {
    const k = firstKernels(v, depth + 1);
    if (k) return k;
  }
  return undefined;
}

export interface ForwardOptions {
  /**
   * Return logits as views of one buffer the model reuses: valid until the next forward call on
   * this model (the engine and `run` consume them at once). Default: a fresh array per call.
   */
  reuseLogits?: boolean;
  /** LoRA adapters (with scales) for `Transformer.forward`'s one segment (model/lora.ts). */
  lora?: readonly LoraRef[];
  /**
   * Run layers [from, to) only (default all; self-speculative early exit, engine.ts). from > 0:
   * each segment's `embeddings` are the residual rows entering layer `from` (a previous call's
   * `hidden`), and only layers >= from write KV. to < nLayers: the exit — the final norm and the
   * output head read layer to - 1's output (LayerSkip's early exit); layers >= to write no KV.
   * The cache length still advances by each segment's token count.
   */
  layers?: { from?: number; to?: number };
  /**
   * Receives the residual rows [rows][nEmbd] leaving the last layer run, for every row of the
   * batch (the last layer then runs its FFN on all rows, not only the output rows).
   */
  hidden?: Float32Array;
}

export class Transformer {
  readonly rope: Rope;
  /** RoPE of the sliding-window layers when their base differs (gemma); else undefined. */
  readonly ropeSwa: Rope | undefined;
  /** Set to collect per-op times (bench --profile). */
  profiler: OpProfiler | undefined;
  /** Experts on demand (expert-cache.ts): the cache that reads them, which owns the open file. */
  expertCache: ExpertCache | undefined;
  /** Dense streaming (layer-stream.ts): the layer slots refilled from the file, which it owns. */
  layerStream: LayerStream | undefined;
  /**
   * Fused KernelSet dispatches (RMSNorm + activation quantization + Q/K/V or gate/up products as
   * one ks.normMatmul). Same bits either way; false (tests) runs them apart.
   */
  fuseOps = true;
  private readonly angleMemo: RopeAngles[] = [];
  private readonly angleMemoSwa: RopeAngles[] = [];
  /** Activation scratch per KernelSet (shard). */
  private readonly scratch = new Map<KernelSet | undefined, Scratch>();
  /** Norm weights copied into each shard's memory once (kernels read them in place). */
  private readonly kw = new Map<KernelSet, Map<Float32Array, Float32Array>>();
  /** The set (shard) holding each layer's weights; `kernels` where a layer has none. */
  private readonly layerKernels: (KernelSet | undefined)[];
  /** The set the output head's matrix lives in. */
  readonly headKernels: KernelSet | undefined;
  /**
   * The set the current activations live in: forwardBatch moves it from shard to shard with the
   * layers (kernelsOf); `buf` and `kernelVec` answer in it.
   */
  active: KernelSet | undefined;

  constructor(
    readonly config: ModelConfig,
    readonly weights: ModelWeights,
    /** The KernelSet the weights were moved into: the production operator set (see above). */
    readonly kernels?: KernelSet,
    /** Plain-TS operators (see above); tests pass the ggml-order reference set. */
    readonly ops: BlockOps = portableOps,
  ) {
    this.rope = new Rope(config.rope, weights.ropeFreqs);
    this.ropeSwa = config.ropeSwa ? new Rope(config.ropeSwa, weights.ropeFreqs) : undefined;
    // Without a production set, weights that live in one still run there, but norms and adds stay in TS.
    this.layerKernels = weights.layers.map((L) => (kernels ? (firstKernels(L, 0) ?? kernels) : undefined));
    this.headKernels = kernels ? (firstKernels(weights.output, 0) ?? kernels) : undefined;
    this.active = kernels;
  }

  /** What keeps reading the model's file while it runs (and closes it), if anything. */
  get openFile(): { close(): Promise<void> } | undefined {
    return this.expertCache ?? this.layerStream;
  }

  /** The KernelSet (shard) layer l runs in. */
  kernelsOf(layer: number): KernelSet | undefined {
    return this.layerKernels[layer] ?? this.kernels;
  }

  /**
   * Makes `ks` the active set, carrying `x`'s first n floats (the residual rows) into its scratch
   * buffer `name`; returns x itself when ks is already active.
   */
  moveTo(ks: KernelSet | undefined, x: Float32Array, n: number, name: string): Float32Array {
    if (ks === this.active) return x;
    this.active = ks;
    const to = this.buf(name, n);
    to.set(head(x, n));
    return to;
  }

  /**
   * A fresh per-sequence cache. With a KernelSet: a paged cache whose rows live in the set's
   * memory (f32 or f16), read in place by `ks.attentionPaged` (MLA: by mla.ts mlaAttendPaged) —
   * the same cache type the engine's shared pool hands out. `where` "js" (and always without
   * kernels): the dense reference cache. `rotate: false` stores quantized rows unrotated
   * (kv/hadamard.ts).
   */
  newCache(
    capacity: number,
    dtype: KVDType = "f32",
    where?: "kernel" | "js",
    opts: { rotate?: boolean } = {},
  ): KVCache {
    const c = this.config;
    const shape = c.mla
      ? { nLayers: c.nLayers, kWidth: mlaCacheWidth(c.mla), vWidth: 0, vFromK: true, capacity }
      : {
          nLayers: c.nLayers,
          kWidth: c.nHeadKV * c.headDimK,
          vWidth: c.nHeadKV * c.headDimV,
          capacity,
          ...kvRotation(dtype, dtype, c.headDimK, c.headDimV, { rotate: opts.rotate }),
        };
    const recurrent = recurrentShape(c);
    const place = where ?? (this.kernels ? "kernel" : "js");
    if (place === "kernel") {
      if (!this.kernels)
        throw new InputError("a kernel KV cache needs a model loaded with a KernelSet", {
          hint: "pass { kernels } to loadModel",
        });
      if (!(Number.isInteger(capacity) && capacity > 0))
        throw new InputError(`invalid KV cache capacity ${capacity}`);
      const blockSize = Math.min(capacity, 64);
      const pool = new BlockPool(
        { ...shape, dtype, blockSize, nBlocks: Math.ceil(capacity / blockSize), recurrent },
        this.kernels,
        (l) => this.kernelsOf(l),
      );
      const cache = new PagedKVCache(pool, capacity);
      cache.reserve(capacity);
      return cache;
    }
    return new DenseKVCache({ ...shape, dtype, recurrent });
  }

  /** RoPE angles of a position (memoized: decode allocates none); `swa`: of the local layers' RoPE. */
  anglesAt(pos: number, swa = false): RopeAngles {
    if (swa && this.ropeSwa) {
      let a = this.angleMemoSwa[pos];
      if (!a) a = this.angleMemoSwa[pos] = this.ropeSwa.angles(pos);
      return a;
    }
    let a = this.angleMemo[pos];
    if (!a) a = this.angleMemo[pos] = this.rope.angles(pos);
    return a;
  }

  /** A norm weight as the active kernels want it (a copy in their memory, made once per shard). */
  kernelVec(w: Float32Array): Float32Array {
    const ks = this.active!;
    let m = this.kw.get(ks);
    if (!m) this.kw.set(ks, (m = new Map()));
    let k = m.get(w);
    if (!k) {
      k = ks.alloc(w.length);
      k.set(w);
      m.set(w, k);
    }
    return k;
  }

  /** Scratch buffer `name` of n floats in the active set's memory. */
  buf(name: string, n: number): Float32Array {
    let s = this.scratch.get(this.active);
    if (!s) this.scratch.set(this.active, (s = new Scratch(this.active)));
    return s.get(name, n);
  }

  /** `buf` as a function value (scratch for lora.ts), made once. */
  readonly tmp = (name: string, n: number): Float32Array => this.buf(name, n);

  /**
   * Append `tokens` to the sequence in `cache` and return logits [outputs.length][nVocab] for the
   * batch indices in `outputs` (default: the last token only). forwardBatch with one segment.
   */
  forward(
    tokens: ArrayLike<number>,
    cache: KVCache,
    outputs?: number[],
    opts?: ForwardOptions,
  ): Float32Array[] {
    if (tokens.length === 0) throw new InputError("forward() needs at least one token");
    return forwardBatch(
      this,
      [{ tokens, cache, outputs: outputs ?? [tokens.length - 1], lora: opts?.lora }],
      opts,
    )[0];
  }

  /** Logits buffer for ForwardOptions.reuseLogits (JS memory: it outlives kernel memory growth). */
  logitsBuf(n: number): Float32Array {
    if (!this.logitsStore || this.logitsStore.length < n) this.logitsStore = new Float32Array(n);
    return this.logitsStore;
  }
  private logitsStore: Float32Array | undefined;
}

/** Sliding window of layer l (0 = unlimited): the model's window on its local layers. */
export function layerWindow(c: ModelConfig, layer: number): number {
  if (c.swaLayers && !c.swaLayers[layer]) return 0;
  return c.slidingWindow;
}

/** Whether attention layer l rotates q and k (false on NoPE layers, smollm3). */
export function layerRoped(c: ModelConfig, layer: number): boolean {
  const n = c.spec.noRopeEvery;
  return !(n > 0 && (layer + 1) % n === 0);
}

/** What each layer is (attention with its window, or recurrent), for `inspect` and the cache. */
export function layerKinds(c: ModelConfig): { kind: LayerKind; window: number; noRope?: boolean }[] {
  return Array.from({ length: c.nLayers }, (_, l) =>
    c.recurrentLayers?.[l]
      ? { kind: "recurrent" as const, window: 0 }
      : {
          kind: "attention" as const,
          window: layerWindow(c, l),
          ...(layerRoped(c, l) ? {} : { noRope: true }),
        },
  );
}

/** The per-sequence recurrent state a cache of this model keeps (short conv: width - 1 rows of nEmbd). */
export function recurrentShape(c: ModelConfig): RecurrentShape | undefined {
  if (!c.recurrentLayers?.some((r) => r)) return undefined;
  const d = c.deltaNet;
  if (d)
    return {
      layers: c.recurrentLayers,
      convRows: d.convWidth - 1,
      channels: 2 * d.nKHeads * d.headK + d.nVHeads * d.headV,
      ssmSize: d.nVHeads * d.headV * d.headK,
    };
  return { layers: c.recurrentLayers, convRows: c.shortConvWidth - 1, channels: c.nEmbd };
}

function checkNonCausal(s: Segment, nt: number, c: ModelConfig): void {
  let prev = 0;
  const windows = Array.from({ length: c.nLayers }, (_, l) => layerWindow(c, l)).filter((w) => w > 0);
  const minWindow = windows.length ? Math.min(...windows) : 0;
  for (const [a, b] of s.nonCausal ?? []) {
    if (!(Number.isInteger(a) && Number.isInteger(b) && a >= prev && b > a && b <= nt))
      throw new InputError(`non-causal span [${a}, ${b}) is not a sorted, disjoint span of 0..${nt}`);
    if (minWindow > 0 && s.cache.length + b > minWindow)
      throw new InputError(
        `a non-causal span ending at position ${s.cache.length + b} lies beyond the ${minWindow}-token sliding window`,
        { hint: "place the image earlier in the prompt" },
      );
    prev = b;
  }
}

/** Returns, per segment, logits [outputs.length] x Float32Array(nVocab). */
export function forwardBatch(model: Transformer, segs: Segment[], opts?: ForwardOptions): Float32Array[][] {
  const c = model.config;
  const E = c.nEmbd;
  const P = model.profiler;
  let tp = P ? performance.now() : 0;
  const t00 = tp;

  // ---- validate, lay out the batch rows ----
  const starts: number[] = [];
  let n = 0;
  for (const s of segs) {
    const nt = s.tokens.length;
    if (nt === 0) throw new InputError("a batch segment needs at least one token");
    if (s.nonCausal?.length) checkNonCausal(s, nt, c);
    if (s.lora?.length) checkLoraRefs(s.lora);
    if (s.cache.length + nt > s.cache.shape.capacity) {
      throw new InputError(
        `sequence of ${s.cache.length + nt} tokens exceeds the context size ${s.cache.shape.capacity}`,
        {
          hint: "raise the context size or shorten the prompt",
        },
      );
    }
    for (const i of s.outputs)
      if (!(Number.isInteger(i) && i >= 0 && i < nt))
        throw new InputError(`output index ${i} outside the batch 0..${nt - 1}`);
    if (s.embeddings && s.embeddings.length < nt * E)
      throw new InputError(`embeddings need ${nt} x ${E} floats, got ${s.embeddings.length}`);
    starts.push(n);
    n += nt;
  }
  if (n === 0) return [];
  const from = opts?.layers?.from ?? 0;
  const to = opts?.layers?.to ?? c.nLayers;
  if (from !== 0 || to !== c.nLayers) checkLayerRange(c, from, to, segs);
  if (opts?.hidden && opts.hidden.length < n * E)
    throw new InputError(`hidden needs ${n} x ${E} floats, got ${opts.hidden.length}`);
  const keepAll = !!opts?.hidden; // the last layer's FFN on every row (their hidden rows are wanted)
  const pos0 = segs.map((s) => s.cache.length);
  const outRows: number[] = [];
  segs.forEach((s, si) => s.outputs.forEach((t) => outRows.push(starts[si] + t)));
  // LoRA row groups over all rows, and over the output rows (last layer's FFN and the head).
  const lora = loraGroups(segs, starts, outRows);
  let lg = lora?.all;

  // ---- embeddings, angles ----
  model.active = model.kernelsOf(from);
  const x = model.buf("x", n * E);
  const angles: RopeAngles[] = [];
  // Local layers' angles when their RoPE differs (gemma3: another base); else the same array.
  const anglesSwa: RopeAngles[] = model.ropeSwa ? [] : angles;
  segs.forEach((s, si) => {
    for (let t = 0; t < s.tokens.length; t++) {
      const row = (starts[si] + t) * E;
      angles.push(model.anglesAt(pos0[si] + t));
      if (model.ropeSwa) anglesSwa.push(model.anglesAt(pos0[si] + t, true));
      if (s.embeddings) {
        x.set(s.embeddings.subarray(t * E, (t + 1) * E), row);
        continue;
      }
      const id = s.tokens[t];
      if (!Number.isInteger(id) || id < 0 || id >= c.nVocab)
        throw new InputError(`token id ${id} outside the vocabulary 0..${c.nVocab - 1}`);
      getRow(model.weights.tokenEmbd, id, x, row);
      // gemma: token embeddings (not given input rows) scaled by sqrtf(nEmbd), as ggml_scale does.
      if (c.embedScale !== 1) for (let i = row; i < row + E; i++) x[i] = Math.fround(x[i] * c.embedScale);
    }
  });
  if (P) tp = P.lap("embed", tp);

  // ---- layers ----
  let xs = x; // residual stream [rows][E]
  let rows = n;
  let h = model.buf("h", n * E);
  let y = model.buf("y", n * E);
  for (let l = from; l < to; l++) {
    const L = model.weights.layers[l];
    if (model.layerStream) {
      model.layerStream.ensure(l);
      if (P) tp = P.lap("stream.load", tp);
    }
    const lk = model.kernelsOf(l);
    if (lk !== model.active) {
      // Another shard: carry the residual rows over; per-layer temporaries are its own.
      xs = model.moveTo(lk, xs, rows * E, "x");
      h = model.buf("h", n * E);
      y = model.buf("y", n * E);
      if (P) tp = P.lap("shard.move", tp);
    }
    if (L.deltaNet || L.conv) {
      norm(model, xs, L.attnNorm, h, rows);
      if (P) tp = P.lap("norm", tp);
      tp = L.deltaNet
        ? deltaNetBlock(model, L.deltaNet, l, h, n, segs, starts, y, tp)
        : shortConvBlock(model, L.conv!, l, h, n, segs, starts, y, tp);
    } else if (L.mla) {
      norm(model, xs, L.attnNorm, h, rows);
      if (P) tp = P.lap("norm", tp);
      const R = c.mla!.kvLoraRank;
      const kw = R + c.mla!.ropeDim;
      const H = c.nHead;
      const { qa, kv } = mlaQKV(model.ops, c, L.mla, model.rope, angles, h, n);
      const lat = model.buf("lat", n * H * R);
      segs.forEach((s, si) => {
        const [a, nt] = [starts[si], s.tokens.length];
        mlaCore(
          model.ops,
          c,
          s.cache,
          l,
          qa.subarray(a * H * kw, (a + nt) * H * kw),
          kv.subarray(a * kw, (a + nt) * kw),
          nt,
          pos0[si],
          lat.subarray(a * H * R, (a + nt) * H * R),
        );
      });
      mlaOut(model.ops, c, L.mla, lat, n, y);
      if (P) tp = P.lap("attention.mla", tp);
    } else {
      const local = c.swaLayers?.[l] ?? false;
      tp = attentionBlock(
        model,
        L.attn!,
        l,
        xs,
        L.attnNorm,
        h,
        n,
        local ? anglesSwa : angles,
        local,
        segs,
        starts,
        pos0,
        y,
        tp,
        lg,
      );
    }
    if (l === to - 1 && outRows.length < rows && !keepAll) {
      // llama.cpp's get_rows on inp_out_ids: the last layer's FFN runs on the output rows only.
      // (Reference path: this also keeps ggml's product order: 1 row -> vec_dot, not tinyBLAS.)
      rows = outRows.length;
      const xo = model.buf("xo", Math.max(1, rows) * E);
      const yo = model.buf("yo", Math.max(1, rows) * E);
      outRows.forEach((t, i) => {
        xo.set(xs.subarray(t * E, (t + 1) * E), i * E);
        yo.set(y.subarray(t * E, (t + 1) * E), i * E);
      });
      xs = xo;
      y = yo;
      lg = lora?.out;
      if (rows === 0) break;
    }
    if (L.attnPostNorm) norm(model, y, L.attnPostNorm, y, rows);
    add(model, xs, y, rows * E);
    if (L.moe) {
      norm(model, xs, L.ffnNorm, h, rows);
      if (P) tp = P.lap("norm", tp);
      moeFfn(model.ops, c.moe!, L.moe, h, rows, E, y);
      if (P) tp = P.lap("matmul.moe", tp);
    } else {
      tp = ffnBlock(model, L.ffn!, xs, L.ffnNorm, h, rows, y, tp, lg);
    }
    if (L.ffnPostNorm) norm(model, y, L.ffnPostNorm, y, rows);
    add(model, xs, y, rows * E);
    if (P) tp = P.lap("add", tp);
  }
  segs.forEach((s, si) => s.cache.setLength(pos0[si] + s.tokens.length));
  if (keepAll) {
    opts!.hidden!.set(head(xs, n * E));
    if (outRows.length < n) {
      // The head's rows: the output rows only (what the last layer keeps without `hidden`).
      const xo = model.buf("xo", Math.max(1, outRows.length) * E);
      outRows.forEach((t, i) => xo.set(xs.subarray(t * E, (t + 1) * E), i * E));
      xs = xo;
    }
  }

  // ---- head: only the output rows (already selected by the last layer) ----
  const out: Float32Array[][] = [];
  if (outRows.length > 0) {
    const m = outRows.length;
    xs = model.moveTo(model.headKernels, xs, m * E, "xo");
    const sel = model.buf("sel", m * E);
    norm(model, xs, model.weights.outputNorm, sel, m);
    if (P) tp = P.lap("norm", tp);
    const logits = opts?.reuseLogits ? model.logitsBuf(m * c.nVocab) : new Float32Array(m * c.nVocab);
    product(model, model.weights.output, sel, m, head(logits, m * c.nVocab), lora?.out);
    if (c.finalSoftcap > 0)
      for (let i = 0; i < m * c.nVocab; i++) logits[i] = softcap(logits[i], c.finalSoftcap);
    if (P) tp = P.lap("matmul.output", tp);
    let r = 0;
    for (const s of segs) out.push(s.outputs.map(() => logits.subarray(r * c.nVocab, ++r * c.nVocab)));
  } else {
    for (const _ of segs) out.push([]);
  }
  if (P) {
    P.add("forward.calls", 1);
    P.add("forward.rows", n);
    P.add("forward.total", performance.now() - t00);
  }
  return out;
}

/**
 * A partial run (ForwardOptions.layers): 0 <= from < to <= nLayers, input rows when from > 0, and
 * no recurrent layer (its state would advance for some layers only and cannot be rolled back).
 */
function checkLayerRange(c: ModelConfig, from: number, to: number, segs: Segment[]): void {
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= c.nLayers))
    throw new InputError(`layers [${from}, ${to}) is not a range of 0..${c.nLayers}`);
  if (c.recurrentLayers?.some(Boolean))
    throw new InputError("a partial forward (early exit) needs a model without recurrent layers");
  if (from > 0 && segs.some((s) => !s.embeddings))
    throw new InputError(`a forward from layer ${from} needs each segment's input rows (embeddings)`);
}

/** out[r] = rmsnorm(x[r]) * w for r < rows. */
function norm(model: Transformer, x: Float32Array, w: Float32Array, out: Float32Array, rows: number): void {
  const c = model.config;
  const E = c.nEmbd;
  if (model.active) {
    model.active.rmsNorm(head(x, rows * E), model.kernelVec(w), head(out, rows * E), E, rows, c.rmsEps);
    return;
  }
  for (let t = 0; t < rows; t++) rmsNorm(x, t * E, E, w, c.rmsEps, out, t * E);
}

/**
 * ys[i] = ws[i] . rmsnorm(x) * normW for `rows` rows. Where every weight lives in the model's
 * KernelSet: one fused dispatch (ks.normMatmul: RMSNorm + activation quantization shared by all
 * products, same bits as apart); else the norm into h, then one product per weight. Returns
 * whether it fused (h is then not written).
 */
function normProducts(
  model: Transformer,
  x: Float32Array,
  normW: Float32Array,
  ws: readonly Weight[],
  rows: number,
  ys: readonly Float32Array[],
  h: Float32Array,
  lg?: LoraGroup[],
): boolean {
  const ks = model.active;
  if (ks && model.fuseOps && ws.every((w) => w.kernel?.ks === ks) && (!lg || loraInKernels(lg, ks))) {
    kernelProducts(model, ks, x, normW, ws, rows, ys, lg);
    return true;
  }
  norm(model, x, normW, h, rows);
  for (let i = 0; i < ws.length; i++) product(model, ws[i], h, rows, ys[i], lg);
  return false;
}

/**
 * ys[i] = ws[i] . x (x RMS-normalized first when normW is given: ks.normMatmul) for `rows` rows
 * as one dispatch, the A products of the LoRA groups' adapters included (lora.ts, KernelSet
 * path); then the groups' B products and deltas. Every weight and adapter lives in `ks`.
 */
function kernelProducts(
  model: Transformer,
  ks: KernelSet,
  x: Float32Array,
  normW: Float32Array | undefined,
  ws: readonly Weight[],
  rows: number,
  ys: readonly Float32Array[],
  lg: LoraGroup[] | undefined,
): void {
  const cols = ws[0].cols;
  const tmp = model.tmp;
  const deltas = lg ? loraDeltas(ws, lg, rows) : undefined;
  if (deltas) {
    // One adapter list on every row: the deltas ride in the products' own dispatch.
    const pws = ws.map((w) => w.kernel!.pw);
    const xs = head(x, rows * cols);
    if (normW)
      ks.normMatmul(xs, model.kernelVec(normW), model.config.rmsEps, pws, rows, ys, undefined, deltas);
    else ks.matmulMany(pws, xs, rows, ys, deltas);
    return;
  }
  const as = lg ? loraAProducts(ws, lg, rows, tmp) : NO_LORA_A;
  const pws = ws.map((w) => w.kernel!.pw);
  const outs = as.length ? [...ys, ...as.map((e) => e.ax)] : ys;
  for (const e of as) pws.push(e.t.a.kernel!.pw);
  const xs = head(x, rows * cols);
  if (normW) ks.normMatmul(xs, model.kernelVec(normW), model.config.rmsEps, pws, rows, outs);
  else ks.matmulMany(pws, xs, rows, outs);
  if (as.length) {
    const t0 = model.profiler ? performance.now() : 0;
    loraBProducts(ks, ws, ys, lg!, as, tmp);
    if (model.profiler) model.profiler.lap("lora", t0);
  }
}

const NO_LORA_A: LoraA[] = [];

/** x += y over n floats. */
function add(model: Transformer, x: Float32Array, y: Float32Array, n: number): void {
  if (model.active) {
    const xs = head(x, n);
    model.active.add(xs, head(y, n), xs, n);
    return;
  }
  for (let i = 0; i < n; i++) x[i] += y[i];
}

function addBias(y: Float32Array, nTok: number, width: number, b: Float32Array | undefined): void {
  if (!b) return;
  for (let t = 0; t < nTok; t++) for (let i = 0; i < width; i++) y[t * width + i] += b[i];
}

/**
 * GQA attention sub-layer over all rows: q/k/v products (one per weight), biases, per-head norms,
 * RoPE; then per segment the KV write and causal attention on its own cache; then wo -> out.
 */
function attentionBlock(
  model: Transformer,
  w: AttnWeights,
  layer: number,
  xRaw: Float32Array,
  normW: Float32Array,
  h: Float32Array,
  n: number,
  angles: RopeAngles[],
  local: boolean,
  segs: Segment[],
  starts: number[],
  pos0: number[],
  out: Float32Array,
  tp: number,
  lg: LoraGroup[] | undefined,
): number {
  const c = model.config;
  const P = model.profiler;
  const ks = model.active;
  const hdK = c.headDimK;
  const qDim = c.nHead * hdK;
  const kDim = c.nHeadKV * hdK;
  const vDim = c.nHeadKV * c.headDimV;
  const oDim = c.nHead * c.headDimV;
  const q = model.buf("q", n * qDim);
  const k = model.buf("k", n * kDim);
  const v = model.buf("v", n * vDim);
  let fused: boolean;
  if (w.wqkv) {
    // Fused rows are [q; k; v]: one product, then split per token.
    const all = qDim + kDim + vDim;
    const qkv = model.buf("qkv", n * all);
    fused = normProducts(model, xRaw, normW, [w.wqkv], n, [qkv], h, lg);
    for (let t = 0; t < n; t++) {
      q.set(qkv.subarray(t * all, t * all + qDim), t * qDim);
      k.set(qkv.subarray(t * all + qDim, t * all + qDim + kDim), t * kDim);
      v.set(qkv.subarray(t * all + qDim + kDim, (t + 1) * all), t * vDim);
    }
  } else {
    if (c.spec.gatedAttention) {
      // [q_h; gate_h] per head (qwen35): split into q and the output gate.
      norm(model, xRaw, normW, h, n);
      const qg = model.buf("qg", n * 2 * qDim);
      const gate = model.buf("qgate", n * qDim);
      product(model, w.wq!, h, n, qg, lg);
      for (let t = 0; t < n; t++)
        for (let hh = 0; hh < c.nHead; hh++) {
          const src = t * 2 * qDim + hh * 2 * hdK;
          q.set(qg.subarray(src, src + hdK), t * qDim + hh * hdK);
          gate.set(qg.subarray(src + hdK, src + 2 * hdK), t * qDim + hh * hdK);
        }
      product(model, w.wk!, h, n, k, lg);
      product(model, w.wv!, h, n, v, lg);
      fused = false;
    } else fused = normProducts(model, xRaw, normW, [w.wq!, w.wk!, w.wv!], n, [q, k, v], h, lg);
  }
  if (P) tp = P.lap(fused ? "norm+matmul.qkv" : "norm, matmul.qkv", tp);
  addBias(q, n, qDim, w.bq);
  addBias(k, n, kDim, w.bk);
  addBias(v, n, vDim, w.bv);
  if (ks) {
    // Per-head norms as one batched call over [rows * heads][hd].
    if (w.qNorm) ks.rmsNorm(q, model.kernelVec(w.qNorm), q, hdK, n * c.nHead, c.rmsEps);
    if (w.kNorm) ks.rmsNorm(k, model.kernelVec(w.kNorm), k, hdK, n * c.nHeadKV, c.rmsEps);
  }
  const roped = layerRoped(c, layer);
  for (let t = 0; t < n; t++) {
    if (!ks) {
      if (w.qNorm)
        for (let hh = 0; hh < c.nHead; hh++)
          rmsNorm(q, t * qDim + hh * hdK, hdK, w.qNorm, c.rmsEps, q, t * qDim + hh * hdK);
      if (w.kNorm)
        for (let hh = 0; hh < c.nHeadKV; hh++)
          rmsNorm(k, t * kDim + hh * hdK, hdK, w.kNorm, c.rmsEps, k, t * kDim + hh * hdK);
    }
    const rope = local && model.ropeSwa ? model.ropeSwa : model.rope;
    if (roped) rope.apply(q, t * qDim, c.nHead, hdK, angles[t]);
    if (c.spec.scaleQ) for (let i = t * qDim; i < (t + 1) * qDim; i++) q[i] = Math.fround(q[i] * c.attnScale);
    if (roped) rope.apply(k, t * kDim, c.nHeadKV, hdK, angles[t]);
  }
  if (P) tp = P.lap("rope+qk", tp);

  const o = model.buf("o", n * oDim);
  const scale = c.spec.scaleQ ? 1 : c.attnScale;
  const window = layerWindow(c, layer);
  for (let si = 0; si < segs.length; si++) {
    const cache = segs[si].cache;
    const a = starts[si];
    const nt = segs[si].tokens.length;
    const p0 = pos0[si];
    // Quantized rows stored Hadamard-rotated (kv/hadamard.ts): q and k in K's blocks, v in V's.
    const rotK = cache.shape.rotK ?? 0;
    const rotV = cache.shape.rotV ?? 0;
    if (rotK) {
      hadamardRows(q, a * qDim, nt * qDim, rotK);
      hadamardRows(k, a * kDim, nt * kDim, rotK);
    }
    if (rotV) hadamardRows(v, a * vDim, nt * vDim, rotV);
    if (cache.writeRows) {
      cache.writeRows(layer, p0, nt, k, a * kDim, v, a * vDim);
    } else {
      for (let t = 0; t < nt; t++) {
        cache.writeK(layer, p0 + t, k, (a + t) * kDim);
        cache.writeV(layer, p0 + t, v, (a + t) * vDim);
      }
    }
    if (P) tp = P.lap("kv.write", tp);
    // The kernel has no soft-capping: such attention (gemma2) runs in model.ops. Sinks (gpt-oss)
    // are a post-pass of the kernel (kernels-src/assembly/sinks.ts).
    const view = ks && hdK === c.headDimV && c.attnSoftcap === 0 ? cache.kernelView?.(layer) : undefined;
    // Rows r0..r1-1 of this segment; non-causal: each also sees the later rows up to r1 - 1.
    const attendRows = (r0: number, r1: number, nonCausal: boolean) => {
      const m = r1 - r0;
      const qs = span(q, (a + r0) * qDim, (a + r1) * qDim);
      const os = span(o, (a + r0) * oDim, (a + r1) * oDim);
      if (view) {
        view.ks.attentionPaged(
          qs,
          view.kv,
          os,
          m,
          p0 + r1,
          c.nHead,
          c.nHeadKV,
          hdK,
          p0 + r0,
          scale,
          window,
          w.sinks,
          nonCausal,
        );
        return;
      }
      const shape = {
        nHead: c.nHead,
        nHeadKV: c.nHeadKV,
        headDimK: hdK,
        headDimV: c.headDimV,
        scale,
        slidingWindow: window,
        softcap: c.attnSoftcap,
        sinks: w.sinks,
      };
      if (!nonCausal) {
        model.ops.attend(shape, cache, layer, qs, m, p0 + r0, os);
        return;
      }
      // Each row as a one-token step at the span's last position (sees all of it; the caller
      // checked the sliding window reaches back to 0 from there).
      for (let t = 0; t < m; t++)
        model.ops.attend(
          shape,
          cache,
          layer,
          span(qs, t * qDim, (t + 1) * qDim),
          1,
          p0 + r1 - 1,
          span(os, t * oDim, (t + 1) * oDim),
        );
    };
    let r = 0;
    for (const [s0, s1] of segs[si].nonCausal ?? []) {
      if (s0 > r) attendRows(r, s0, false);
      attendRows(s0, s1, true);
      r = s1;
    }
    if (r < nt) attendRows(r, nt, false);
    if (rotV) hadamardRows(o, a * oDim, nt * oDim, rotV);
    // SnapKV's observation window: the newest q rows, in the stored K rows' basis.
    cache.observed?.record(layer, q, a * qDim, nt, p0);
    if (cache.attnScores && cache.readRow) {
      // Scored eviction (H2O): this layer's attention probabilities, added per position.
      accumulateAttention(
        { nHead: c.nHead, nHeadKV: c.nHeadKV, headDim: hdK, scale, window, softcap: c.attnSoftcap },
        cache,
        layer,
        q,
        a * qDim,
        nt,
        p0,
        cache.attnScores,
        model.buf("attn_scores_k", (p0 + nt) * hdK),
      );
    }
    if (P) tp = P.lap("attention", tp);
  }
  if (c.spec.gatedAttention) {
    // out *= sigmoid(gate), then wo (gate: [n][nHead * headDim], headDimV = headDimK here).
    const gate = model.buf("qgate", n * qDim);
    for (let i = 0; i < n * oDim; i++)
      o[i] = Math.fround(o[i] * Math.fround(1 / Math.fround(1 + Math.fround(Math.exp(-gate[i])))));
  }
  product(model, w.wo, o, n, out, lg);
  addBias(out, n, c.nEmbd, w.bo);
  if (P) tp = P.lap("matmul.wo", tp);
  return tp;
}

/**
 * A recurrent layer's per-sequence pass: step(state, first row, rows) for each segment on its own
 * cache's state for `layer` (delta-net, short-conv); a cache without one is an InputError.
 */
function eachSequenceState(
  segs: Segment[],
  starts: number[],
  layer: number,
  step: (st: RecurrentState, a: number, rows: number) => void,
): void {
  for (let si = 0; si < segs.length; si++) {
    const st = segs[si].cache.state?.(layer);
    if (!st)
      throw new InputError(`the KV cache has no recurrent state for layer ${layer}`, {
        hint: "create caches with the model (newCache) or a pool shaped by recurrentShape()",
      });
    step(st, starts[si], segs[si].tokens.length);
  }
}

/**
 * Gated DeltaNet layer (qwen35) over all rows: qkv, z, alpha, beta products (one each), the
 * per-token gates, then per segment blocks/delta-net.ts on that sequence's state, then ssm_out.
 */
function deltaNetBlock(
  model: Transformer,
  w: DeltaNetWeights,
  layer: number,
  x: Float32Array,
  n: number,
  segs: Segment[],
  starts: number[],
  out: Float32Array,
  tp: number,
): number {
  const f = Math.fround;
  const c = model.config;
  const d = c.deltaNet!;
  const P = model.profiler;
  const ch = 2 * d.nKHeads * d.headK + d.nVHeads * d.headV;
  const vDim = d.nVHeads * d.headV;
  const H = d.nVHeads;
  const qkv = model.buf("dn_qkv", n * ch);
  const z = model.buf("dn_z", n * vDim);
  const g = model.buf("dn_g", n * H);
  const beta = model.buf("dn_beta", n * H);
  model.ops.matmul(w.wqkv, x, n, qkv);
  model.ops.matmul(w.wz, x, n, z);
  if (w.ba) {
    // qwen3next: one product, rows per key head [r betas; r alphas] (r = nV / nK).
    const ba = model.buf("dn_ba", n * 2 * H);
    model.ops.matmul(w.ba, x, n, ba);
    const r = H / d.nKHeads;
    for (let t = 0; t < n; t++)
      for (let hh = 0; hh < H; hh++) {
        const gi = Math.floor(hh / r);
        const j = hh % r;
        beta[t * H + hh] = ba[t * 2 * H + gi * 2 * r + j];
        g[t * H + hh] = ba[t * 2 * H + gi * 2 * r + r + j];
      }
  } else {
    model.ops.matmul(w.alpha!, x, n, g);
    model.ops.matmul(w.beta!, x, n, beta);
  }
  if (P) tp = P.lap("matmul.deltanet_in", tp);
  for (let r = 0; r < n; r++)
    for (let hh = 0; hh < H; hh++) {
      const i = r * H + hh;
      // g = softplus(alpha + dt_bias) * a (ggml: x > 20 ? x : logf(1 + expf(x))); beta = sigmoid.
      const ab = f(g[i] + w.dtBias[hh]);
      const sp = ab > 20 ? ab : f(Math.log(f(1 + f(Math.exp(ab)))));
      g[i] = f(sp * w.a[hh]);
      beta[i] = f(1 / f(1 + f(Math.exp(-beta[i]))));
    }
  const yv = model.buf("dn_y", n * vDim);
  eachSequenceState(segs, starts, layer, (st, a, rows) =>
    deltaNetStep(
      d,
      st,
      w.conv,
      w.norm,
      c.rmsEps,
      qkv,
      a * ch,
      z,
      a * vDim,
      g,
      beta,
      a * H,
      rows,
      yv,
      a * vDim,
    ),
  );
  if (P) tp = P.lap("deltanet", tp);
  model.ops.matmul(w.out, yv, n, out);
  if (P) tp = P.lap("matmul.deltanet_out", tp);
  return tp;
}

/**
 * Gated short convolution (lfm2) over all rows: [b; c; x] = in_proj h (one product), then per
 * segment blocks/short-conv.ts on that sequence's conv state, then out_proj.
 */
function shortConvBlock(
  model: Transformer,
  w: ShortConvWeights,
  layer: number,
  x: Float32Array,
  n: number,
  segs: Segment[],
  starts: number[],
  out: Float32Array,
  tp: number,
): number {
  const c = model.config;
  const P = model.profiler;
  const E = c.nEmbd;
  const bcx = model.buf("bcx", n * 3 * E);
  model.ops.matmul(w.inProj, x, n, bcx);
  if (P) tp = P.lap("matmul.conv_in", tp);
  const y = model.buf("convy", n * E);
  eachSequenceState(segs, starts, layer, (st, a, rows) =>
    shortConvStep(st, w.kernel, c.shortConvWidth, E, bcx, a * 3 * E, rows, y, a * E),
  );
  if (P) tp = P.lap("shortconv", tp);
  model.ops.matmul(w.outProj, y, n, out);
  if (P) tp = P.lap("matmul.conv_out", tp);
  return tp;
}

/** Dense SwiGLU FFN: out[rows][E] = down(silu(gate x) * up x). */
function ffnBlock(
  model: Transformer,
  w: FfnWeights,
  xRaw: Float32Array,
  normW: Float32Array,
  h: Float32Array,
  rows: number,
  out: Float32Array,
  tp: number,
  lg: LoraGroup[] | undefined,
): number {
  const P = model.profiler;
  const ks = model.active;
  const act = model.config.spec.ffnAct;
  if (!ks) {
    norm(model, xRaw, normW, h, rows);
    const ops = lg ? { ...model.ops, matmul: loraMatmul(model, lg) } : model.ops;
    swiglu(ops, w, h, rows, out, false, act);
    if (P) tp = P.lap("norm, matmul.ffn", tp);
    return tp;
  }
  const nFF = w.down.cols;
  const hh = model.buf("ffh", rows * nFF);
  if (w.fused) {
    const gu = model.buf("ffgu", rows * 2 * nFF);
    const f = normProducts(model, xRaw, normW, [w.up], rows, [gu], h, lg);
    if (P) tp = P.lap(f ? "norm+matmul.gate_up" : "norm, matmul.gate_up", tp);
    for (let t = 0; t < rows; t++)
      if (act === "gelu") model.ops.geluMul(gu, t * 2 * nFF, gu, t * 2 * nFF + nFF, hh, t * nFF, nFF);
      else
        ks.siluMul(
          gu.subarray(t * 2 * nFF, t * 2 * nFF + nFF),
          gu.subarray(t * 2 * nFF + nFF, (t + 1) * 2 * nFF),
          hh.subarray(t * nFF, (t + 1) * nFF),
          nFF,
        );
  } else {
    const g = model.buf("ffg", rows * nFF);
    const f = normProducts(model, xRaw, normW, [w.gate!, w.up], rows, [g, hh], h, lg);
    if (P) tp = P.lap(f ? "norm+matmul.gate_up" : "norm, matmul.gate_up", tp);
    // GeGLU has no kernel yet: the TS operator on the same scratch rows.
    if (act === "gelu") model.ops.geluMul(g, 0, hh, 0, hh, 0, rows * nFF);
    else ks.siluMul(g, hh, hh, rows * nFF);
  }
  if (P) tp = P.lap("act", tp);
  mm(model, w.down, hh, rows, out, lg);
  if (P) tp = P.lap("matmul.down", tp);
  return tp;
}

function mm(
  model: Transformer,
  w: Weight,
  x: Float32Array,
  rows: number,
  out: Float32Array,
  lg?: LoraGroup[],
): void {
  product(model, w, x, rows, out, lg);
}

/** out = W x for `rows` rows, then each LoRA group's deltas for W (if any). */
function product(
  model: Transformer,
  w: Weight,
  x: Float32Array,
  rows: number,
  out: Float32Array,
  lg: LoraGroup[] | undefined,
): void {
  const ks = model.active;
  if (lg && ks && model.fuseOps && w.kernel?.ks === ks && loraInKernels(lg, ks)) {
    kernelProducts(model, ks, x, undefined, [w], rows, [out], lg);
    return;
  }
  model.ops.matmul(w, x, rows, out);
  if (lg) {
    const t0 = model.profiler ? performance.now() : 0;
    applyLora(model.ops, w, x, out, lg, model.tmp);
    if (model.profiler) model.profiler.lap("lora", t0);
  }
}

/** BlockOps.matmul with LoRA deltas (the plain-TS SwiGLU; strides there are the defaults). */
function loraMatmul(model: Transformer, lg: LoraGroup[]): BlockOps["matmul"] {
  return (w, x, nTok, out, xStride, outStride, vecOrder) => {
    model.ops.matmul(w, x, nTok, out, xStride, outStride, vecOrder);
    applyLora(model.ops, w, x, out, lg, model.tmp);
  };
}

/**
 * Rows grouped by adapter list (segments without adapters in no group); undefined when no
 * segment has one. `out`: the same groups over the output rows' indices (last layer, head).
 */
function loraGroups(
  segs: Segment[],
  starts: number[],
  outRows: number[],
): { all: LoraGroup[]; out: LoraGroup[] } | undefined {
  if (!segs.some((s) => s.lora?.length)) return undefined;
  const byKey = new Map<string, { all: LoraGroup; out: LoraGroup }>();
  const outIndex = new Map<number, number>();
  outRows.forEach((r, i) => outIndex.set(r, i));
  segs.forEach((s, si) => {
    const key = loraKey(s.lora);
    if (!key) return;
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { all: { refs: s.lora!, rows: [] }, out: { refs: s.lora!, rows: [] } }));
    for (let t = 0; t < s.tokens.length; t++) g.all.rows.push(starts[si] + t);
    for (const t of s.outputs) g.out.rows.push(outIndex.get(starts[si] + t)!);
  });
  const groups = [...byKey.values()];
  return { all: groups.map((g) => g.all), out: groups.map((g) => g.out) };
}
