/**
 * KernelSet: the only door between the model code and the numeric kernels.
 *
 * Two implementations: `ref/` (plain TypeScript, the algorithmic reference and fallback) and
 * `wasm/` (WebAssembly SIMD128 + a thread pool sharing the WebAssembly.Memory of each shard: a
 * model larger than one 4 GiB wasm32 memory spans several, see `sharding` and
 * model/placement.ts). Model code must
 * only use this interface, so either can run a model and tests can compare them.
 *
 * Usage (shapes in brackets, row-major, f32 unless stated):
 *   const ks = await createWasmKernelSet({ threads: 2 });      // or new RefKernelSet()
 *   const w = ks.prepareWeight(GGMLType.Q4_K, bytes, rows, cols); // file bytes of one tensor
 *       // repacked once into the implementation's layout (WASM: 4-row interleave inside WASM
 *       // memory); no F32 copy of quantized weights is ever made. `bytes` may be dropped after.
 *   const x = ks.alloc(cols), y = ks.alloc(rows);              // activations; for WASM these are
 *       // views of the shared WASM memory, so kernels read/write them without copies. Plain
 *       // Float32Arrays work too (they are copied in/out).
 *   ks.matvec(w, x, y);              // y[rows] = W[rows,cols] . x[cols]
 *   ks.matmul(w, X, nTokens, Y);     // Y[nTokens,rows] = X[nTokens,cols] . W^T
 *   ks.dequantizeRow(w, row, out);   // out[cols] = W[row,:] (embedding lookup)
 *   ks.rmsNorm / softmax / siluMul / add / rope / attention   // see each method
 *       // argument checks in src/kernels/ts-ops.ts; the WASM set runs rmsNorm, siluMul, add,
 *       // softmax, ropeAngles and attention (online softmax, threaded by KV-head group) in
 *       // SIMD, rope with options in TS.
 *   ks.matmulMany([wq, wk, wv], x, n, [q, k, v]);     // one input, several weights, one dispatch
 *   ks.normMatmul(x, attnNorm, eps, [wq, wk, wv], n, [q, k, v], h?); // RMSNorm fused in
 *   ks.matmulBatch([{ w: bq, X: aq, nTokens: n, Y: dq }, ...]); // own inputs, one dispatch
 *       // Keep KV caches in alloc() buffers: other arrays are copied into WASM memory per call.
 *
 * Weight types (both sets): F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K,
 * Q6_K, IQ4_NL, IQ4_XS, MXFP4. Quantized products follow ggml: the activation is quantized once
 * per product to Q8_0 (Q4_0/Q5_0/Q8_0 weights), Q8_1 (Q4_1/Q5_1) or Q8_K (K-quants), F16/BF16
 * weights see the activation rounded to their type, then integer block dots are scaled, so
 * results match llama.cpp's CPU backend up to float summation order. Results do not depend on
 * the thread count (each output is computed whole by one thread).
 *
 * Calls are synchronous (the WASM set blocks on its workers); in a browser, run the engine in a
 * Web Worker (the main thread may not block, the pool then spins).
 */
import type { GGMLType } from "../gguf/types.js";

export interface RopeOptions {
  /** Frequency base (rope.freq_base), e.g. 10000 or 500000. */
  theta: number;
  /** NeoX style rotates (i, i + nRot/2) pairs; normal style rotates (2i, 2i+1). */
  neox: boolean;
  /** Rotated dimensions per head (rope.dimension_count); the rest pass through. Default headDim. */
  nRot?: number;
  /** Linear position scaling (1 / rope scaling factor). Default 1. */
  freqScale?: number;
}

/** An opaque, prepared weight matrix [rows, cols]. Only the KernelSet that made it can use it. */
export interface PreparedWeight {
  readonly type: GGMLType;
  readonly rows: number;
  readonly cols: number;
  /** Bytes it occupies in the implementation's memory (after repacking). */
  readonly bytes: number;
}

/**
 * One layer's K/V cache in paged layout, in a KernelSet's memory (alloc() views) so attention
 * reads it in place. Rows: K [nRows][nHeadKV][hd] and V likewise, f32 or IEEE half bits
 * (`half`). Position j of the sequence is row table[j / blockSize] * blockSize + j % blockSize;
 * a dense cache is table [0] with blockSize >= its capacity.
 * Planned (KV issue): quantized rows (Q8_0/Q4_0 blocks per head: a `format` field instead of
 * `half`), per-head position maps for token eviction (`posOf`), RoPE shift done by the cache.
 */
export interface PagedKV {
  k: Float32Array | Uint16Array | Uint8Array;
  v: Float32Array | Uint16Array | Uint8Array;
  half: boolean;
  /**
   * Row formats (KV issue; kv/quant-kv.ts): when given they override `half`. q8_0/q4_0 rows are
   * llama.cpp blocks of 32 (34/18 bytes), hd a multiple of 32; the kernels then quantize q to
   * Q8_0 per head and take integer block dots for K, and dequantize V (ggml's flash-attention order).
   */
  kType?: "f32" | "f16" | "q8_0" | "q4_0";
  vType?: "f32" | "f16" | "q8_0" | "q4_0";
  /** Block ids of the sequence, in order (at least ceil(nKV / blockSize) entries). */
  table: Int32Array;
  blockSize: number;
}

/** One product of KernelSet.matmulBatch: Y [nTokens][w.rows] = X [nTokens][w.cols] . w^T. */
export interface MatmulItem {
  w: PreparedWeight;
  X: Float32Array;
  nTokens: number;
  Y: Float32Array;
}

/**
 * A low-rank delta on one output of matmulMany / normMatmul (a LoRA adapter's matrix):
 * Ys[out] += scale * ((X . a^T) . b^T), X being the call's input (normalized, for normMatmul).
 * a: [rank][cols], b: [Ys[out]'s rows][rank]. Deltas are added in the order given, each after
 * the base product, each product and sum rounded to f32 (ggml's res + s*B(Ax); the rank-sized
 * A x is an f32 vector the B product takes as its type wants: fp16-rounded for an F16 b).
 */
export interface LowRankDelta {
  out: number;
  a: PreparedWeight;
  b: PreparedWeight;
  scale: number;
}

/** KernelSet.startWeight: rows in ggml layout, written in order, then done(). */
export interface WeightWriter {
  /** Rows per write (a multiple of 4): every write but the last has exactly this many. */
  readonly chunkRows: number;
  /** Bytes of one row in the file. */
  readonly rowBytes: number;
  /** Rows row0 .. row0 + bytes.length / rowBytes - 1; row0 = rows written so far. */
  write(row0: number, bytes: Uint8Array): void;
  /** The weight, once every row is written. */
  done(): PreparedWeight;
}

/**
 * KernelSet.reserveWeight: a region of the set's memory reserved now, into which matrices are
 * repacked later (expert weights loaded on demand, model/expert-cache.ts), again and again.
 */
export interface WeightSlot {
  /** Bytes reserved. */
  readonly bytes: number;
  /**
   * Repacks one matrix (file bytes, ggml layout) at byte `offset` of the slot; the result is what
   * prepareWeight would give for the same bytes (same layout, same products). A weight put earlier
   * over the same bytes must not be used afterwards.
   */
  put(offset: number, type: GGMLType, data: Uint8Array, rows: number, cols: number): PreparedWeight;
  /**
   * Copies a matrix already packed elsewhere (another thread, by the set's `packing()`) to byte
   * `offset`; `dot8` says which layout the packer chose. Same result as put on the file bytes.
   */
  putPacked?(
    offset: number,
    type: GGMLType,
    packed: Uint8Array,
    rows: number,
    cols: number,
    dot8: boolean,
  ): PreparedWeight;
}

/** How a set packs weights (KernelSet.packing): what another thread needs to pack for it. */
export interface WeightPacking {
  /** Types packed in the int8-dot layout where the bytes allow (kernels/wasm/repack.ts packInto). */
  readonly dot8Types: readonly GGMLType[];
}

export interface KernelSet {
  /** "ref" or "wasm-simd128". */
  readonly name: string;
  /** Threads that share each product (1 for ref). */
  readonly threads: number;
  /** Weight types prepareWeight accepts. */
  supports(type: GGMLType): boolean;

  /** A zeroed f32 buffer of n elements that kernels can use without copying. */
  alloc(n: number): Float32Array;

  /** Takes ownership of nothing: copies/repacks `data` (one tensor, ggml layout) once. */
  prepareWeight(type: GGMLType, data: Uint8Array, rows: number, cols: number): PreparedWeight;

  /**
   * Reserves `bytes` for matrices put there later (WeightSlot); optional: sets without it give
   * each prepareWeight its own memory (the reference set: garbage-collected arrays).
   */
  reserveWeight?(bytes: number): WeightSlot;

  /** How this set packs weights, for packing in another thread (WeightSlot.putPacked). */
  packing?(): WeightPacking;

  /** Bytes a matrix occupies once prepared here (slot sizing); absent: the file bytes. */
  preparedSize?(type: GGMLType, rows: number, cols: number): number;

  /** Whether startWeight takes this type (optional: sets without it take weights only whole). */
  takesRowChunks?(type: GGMLType): boolean;

  /**
   * A matrix prepared from row chunks as they are read, so loading never holds a whole tensor
   * outside the set (types where takesRowChunks is true). Same result as prepareWeight on the
   * concatenated rows. `chunkBytes`: file bytes per chunk (rounded to whole 4-row groups).
   */
  startWeight?(type: GGMLType, rows: number, cols: number, chunkBytes?: number): WeightWriter;

  /** y[rows] = W . x[cols] */
  matvec(w: PreparedWeight, x: Float32Array, y: Float32Array): void;
  /** Y[nTokens][rows] = X[nTokens][cols] . W^T */
  matmul(w: PreparedWeight, X: Float32Array, nTokens: number, Y: Float32Array): void;
  /** out[cols] = W[row, :] as f32. */
  dequantizeRow(w: PreparedWeight, row: number, out: Float32Array): void;

  /**
   * Ys[i][nTokens][ws[i].rows] = X[nTokens][cols] . ws[i]^T for each weight (all with `cols`
   * columns): Q/K/V or gate/up as one call. WASM: the input is quantized once per activation
   * format and all products run in one pool dispatch (one barrier). Each Ys[i] has the same
   * bits as matmul(ws[i], X, nTokens, Ys[i]). `deltas` (LoRA) are added into their outputs with
   * the bits of matmul(a), matmul(b) and an f32 add apart; WASM runs them in the same dispatch
   * (A x first, then each B row added by the chunk that wrote the base row).
   */
  matmulMany(
    ws: readonly PreparedWeight[],
    X: Float32Array,
    nTokens: number,
    Ys: readonly Float32Array[],
    deltas?: readonly LowRankDelta[],
  ): void;
  /**
   * Independent products, each with its own input: items[i].Y [nTokens][w.rows] =
   * items[i].X [nTokens][w.cols] . items[i].w^T (LoRA B products of several matrices and
   * adapter groups). WASM: one pool dispatch, or run on the calling thread when the whole batch is
   * smaller than the threading threshold (a hand-off would cost more than it saves). Each Y has
   * the same bits as matmul(w, X, nTokens, Y). Outputs must not alias inputs of the batch.
   */
  matmulBatch(items: readonly MatmulItem[]): void;
  /**
   * h = rmsNorm(x, weight, eps) per row (x [nTokens][cols]) fused with matmulMany(ws, h, ...):
   * WASM normalizes and quantizes each row in one dispatch. normOut [nTokens][cols] receives h
   * when given. Same bits as the two calls apart; `deltas` as in matmulMany (on the normalized
   * rows).
   */
  normMatmul(
    x: Float32Array,
    weight: Float32Array,
    eps: number,
    ws: readonly PreparedWeight[],
    nTokens: number,
    Ys: readonly Float32Array[],
    normOut?: Float32Array,
    deltas?: readonly LowRankDelta[],
  ): void;

  /** out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight; x, out: [nRows][n]. */
  rmsNorm(
    x: Float32Array,
    weight: Float32Array,
    out: Float32Array,
    n: number,
    nRows?: number,
    eps?: number,
  ): void;
  /** In-place softmax of each row of x [nRows][n]. */
  softmax(x: Float32Array, n: number, nRows?: number): void;
  /** out = silu(gate) * up. */
  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array, n: number): void;
  /** out = a + b. */
  add(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;
  /** In-place RoPE of x [nTokens][nHeads][headDim], token t at position pos0 + t. */
  rope(x: Float32Array, nTokens: number, nHeads: number, headDim: number, pos0: number, o: RopeOptions): void;
  /**
   * In-place RoPE with precomputed angles (what model/blocks/rope.ts's Rope computes, YaRN and
   * frequency factors included): x [nTokens][nHeads][headDim], token t rotated by cos/sin
   * [nTokens][nRot/2] from t*nRot/2; NeoX pairs (i, i + nRot/2), normal pairs (2i, 2i+1); dims
   * past nRot pass through. x0' = x0*cos - round(x1*sin), x1' = x0*sin + round(x1*cos), the first
   * product fused where the build has FMA (as ggml's compiled loop). WASM: one unit per token.
   */
  ropeAngles(
    x: Float32Array,
    nTokens: number,
    nHeads: number,
    headDim: number,
    nRot: number,
    cos: Float32Array,
    sin: Float32Array,
    neox: boolean,
  ): void;
  /** Causal GQA attention, q [nTokens][nHead][hd] at pos0.., k/v [nKV][nHeadKV][hd] -> out like q. */
  attention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    nTokens: number,
    nKV: number,
    nHead: number,
    nHeadKV: number,
    hd: number,
    pos0: number,
    scale?: number,
  ): void;

  /**
   * Bidirectional (non-causal) attention, as encoders use it: q, k, v, out [n][nHead][hd]; every
   * query sees all n keys (no GQA, no cache). Scale defaults to 1/sqrt(hd).
   */
  attentionFull(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    n: number,
    nHead: number,
    hd: number,
    scale?: number,
  ): void;

  /**
   * The same causal GQA attention on a paged (optionally f16) cache read in place:
   * q [nTokens][nHead][hd] at positions pos0.., out like q; token t sees positions
   * max(0, pos0 + t - window + 1) .. pos0 + t (window 0 = unlimited). `sinks` (gpt-oss): one
   * logit per query head [nHead] that joins the head's softmax without a value row.
   * `nonCausal`: every token sees all nKV positions (a Gemma 3 image span decoded as one batch);
   * with a window, nKV must not exceed it.
   */
  attentionPaged(
    q: Float32Array,
    kv: PagedKV,
    out: Float32Array,
    nTokens: number,
    nKV: number,
    nHead: number,
    nHeadKV: number,
    hd: number,
    pos0: number,
    scale: number,
    window?: number,
    sinks?: Float32Array,
    nonCausal?: boolean,
  ): void;

  /**
   * Sets whose weights can span several memories (WASM: one wasm32 memory, at most 4 GiB, per
   * shard; the shards share one thread pool). Absent where one memory holds everything (ref).
   */
  readonly sharding?: KernelSharding;

  /** Stops worker threads; the set must not be used afterwards. */
  dispose(): Promise<void>;
}

/**
 * The shards of a KernelSet: shard i is a KernelSet of its own (own memory, alloc() and
 * prepareWeight there; products read activations in place only from that memory) running on the
 * pool every shard shares. Shard 0 is the set itself.
 */
export interface KernelSharding {
  /** Prepared-weight bytes a placement puts in one shard before starting the next. */
  readonly shardBytes: number;
  /** Hard limit of one shard's memory in bytes (weights, activations, KV rows together). */
  readonly memoryLimit: number;
  /** Shards created so far. */
  readonly count: number;
  /** Shard i, created with any missing before it (synchronously: each worker instantiates the
   *  kernels on the new memory). */
  shard(i: number): KernelSet;
  /** Bytes in use across every shard's memory, or in shard `i`'s alone. */
  usedBytes(i?: number): number;
}

/** How a speed summary names the kernels: "relaxed SIMD x2", "SIMD128 x1" or "ts (reference)". */
export function kernelsLabel(ks: KernelSet | undefined): string {
  if (!ks?.name.startsWith("wasm")) return "ts (reference)";
  const dot32 = (ks as { dot32?: boolean }).dot32 ? " (int8 dots in i32 lanes)" : "";
  return `${ks.name === "wasm-relaxed-simd" ? "relaxed SIMD" : "SIMD128"} x${ks.threads}${dot32}`;
}
