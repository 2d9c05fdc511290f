/**
 * KernelSet on the WebAssembly SIMD128 kernels (kernels-src/assembly/) and a thread pool.
 * Weights are repacked into WASM memory at prepareWeight (repack.ts); activations given as
 * alloc() views are used in place, other Float32Arrays are copied through scratch buffers.
 * Quantized products quantize the activation once on the main thread (Q8_0 or Q8_K, widened to
 * i16), then split 4-row groups over the threads.
 */
import { GGMLType, ggmlRowBytes, ggmlTypeName, ggmlTypeTraits } from "../../gguf/types.js";
import { KernelError } from "../../errors.js";
import type {
  KernelSet,
  KernelSharding,
  LowRankDelta,
  MatmulItem,
  PagedKV,
  PreparedWeight,
  WeightSlot,
  WeightPacking,
  WeightWriter,
} from "../kernel-set.js";
import { checkVec, checkWeightArgs } from "../shape-checks.js";
import { SHARD_MEMORY_LIMIT, SHARD_WORKING_ROOM, WasmArena } from "./arena.js";
import { PoolShard, ThreadPool, type PoolTask, type SpawnWorker } from "./pool.js";
import { isNode, nodeHost, loadKernelModule, loadRelaxedKernelModule, type WasmSource } from "./loader.js";
import { DOT8_TYPES, PACKED, packedBytes, packInto, q8_0Dot8Ok, repack } from "./repack.js";
import { dot8Types } from "./kernel-choice.js";
import { unpackRow } from "./unpack.js";
import { TsOps } from "../ts-ops.js";

/** Exports the pool may dispatch, by index. */
const EXPORTS = [
  "quantize_q8_0",
  "quantize_q8_1",
  "quantize_q8_k",
  "round_f16",
  "round_bf16",
  "matvec_f32",
  "matmul_f32",
  "matvec_f16",
  "matmul_f16",
  "matvec_bf16",
  "matmul_bf16",
  "matvec_q4_1",
  "matmul_q4_1",
  "matvec_q5_0",
  "matmul_q5_0",
  "matvec_q5_1",
  "matmul_q5_1",
  "matvec_q5_k",
  "matmul_q5_k",
  "matvec_q8_0",
  "matmul_q8_0",
  "matvec_q4_0",
  "matmul_q4_0",
  "matvec_q4_k",
  "matmul_q4_k",
  "matvec_q6_k",
  "matmul_q6_k",
  "silu_mul",
  "add_f32",
  "rms_norm",
  "attention_f32",
  "attention_paged",
  "attention_paged_q",
  "read_sum",
  "quantize_q8_0_i8",
  "quantize_q8_0_abs",
  "quantize_q8_k_i8",
  "matvec_q8_0_r",
  "matmul_q8_0_r",
  "matvec_q4_0_r",
  "matmul_q4_0_r",
  "matvec_q4_k_r",
  "matmul_q4_k_r",
  "matvec_q5_k_r",
  "matmul_q5_k_r",
  "matvec_q6_k_r",
  "matmul_q6_k_r",
  "probe_dot8",
  "matvec_k16",
  "matmul_k16",
  "rms_norm_quant",
  "quantize_q8_k_abs",
  "matvec_iq4_nl",
  "matmul_iq4_nl",
  "matvec_iq4_xs",
  "matmul_iq4_xs",
  "softmax_f32",
  "rope_f32",
  "quantize_q8_1_i8",
  "matvec_q4_1_r",
  "matmul_q4_1_r",
  "matvec_q5_0_r",
  "matmul_q5_0_r",
  "matvec_q5_1_r",
  "matmul_q5_1_r",
  "matvec_mxfp4",
  "matmul_mxfp4",
  "attention_sinks",
  "attention_full_f32",
  "lora_add_f16",
  "lora_add_f32",
  "lora_round_f16",
] as const;
type ExportName = (typeof EXPORTS)[number];
const IDX = new Map<string, number>(EXPORTS.map((n, i) => [n, i]));

export interface WasmKernelOptions {
  /** Total threads including the caller's (default: all cores). */
  threads?: number;
  /** Where the kernel module is (default: build/kernels/kernels.wasm next to the package). */
  wasm?: WasmSource;
  /** Worker factory (default: worker_threads in Node, module Web Workers in browsers). */
  spawn?: SpawnWorker;
  /**
   * Which build of the kernels: "relaxed" (fused multiply-add; throws where unsupported),
   * "simd128", or "auto" (default; relaxed where the engine validates it and its self-check
   * passes, else simd128). Ignored when `wasm` names a module. Node also reads EDGELLM_SIMD.
   */
  simd?: SimdChoice;
  /**
   * Int8-dot kernels (kernels-src/assembly/dot8.ts: relaxed int8 dots on int8 activations) per
   * weight type: true = the measured default table (Q4_0, Q4_1, Q5_0, Q5_1, Q4_K; kernel-choice.ts),
   * false = none, or a list of types (any of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K).
   * Default: the table with the relaxed build, none with SIMD128 (where the int8 dots are emulated
   * by i16 dots: correct, slower; tests turn it on to check the layouts). Node also reads
   * EDGELLM_DOT8=0|1|Q4_K,Q6_K,...
   */
  dot8?: boolean | readonly GGMLType[];
  /**
   * With the relaxed build: accumulate int8 dots in i32 lanes (kernels-relaxed-dot32.wasm; one
   * instruction per 16 products where the engine lowers relaxed_dot_add natively: AVX-VNNI in
   * V8 >= 12, ARM sdot). Default: timed at load against the i16 form, the faster one is kept
   * (identical results). Node also reads EDGELLM_DOT32=0|1.
   */
  dot32?: boolean;
  /**
   * Prepared-weight bytes a model placement puts in one shard memory before starting the next
   * (model/placement.ts). Default: the wasm32 limit (4 GiB) less SHARD_WORKING_ROOM. Smaller values
   * split small models over several shards (tests). Node also reads EDGELLM_SHARD_BYTES.
   */
  shardBytes?: number;
}

export { SHARD_MEMORY_LIMIT, SHARD_WORKING_ROOM };

/**
 * What a placement (model/placement.ts) needs to know of a WASM set, without creating one
 * (`edgellm inspect`): the weight types it takes and its shard sizes.
 */
export function wasmPlacementTarget(opts: Pick<WasmKernelOptions, "shardBytes"> = {}): {
  supports(type: GGMLType): boolean;
  sharding: { shardBytes: number; memoryLimit: number };
} {
  return {
    supports: (type) => KERNELS.has(type),
    sharding: { shardBytes: shardBytesOption(opts), memoryLimit: SHARD_MEMORY_LIMIT },
  };
}

function shardBytesOption(opts: WasmKernelOptions): number {
  const env = isNode ? process.env.EDGELLM_SHARD_BYTES : undefined;
  const v = opts.shardBytes ?? (env ? Number(env) : SHARD_MEMORY_LIMIT - SHARD_WORKING_ROOM);
  if (!(Number.isFinite(v) && v >= 65536 && v <= SHARD_MEMORY_LIMIT))
    throw new KernelError(`shard size must be between 64 KiB and 4 GiB, got ${v}`, {
      field: opts.shardBytes === undefined ? "EDGELLM_SHARD_BYTES" : "shardBytes",
    });
  return Math.floor(v);
}

export type SimdChoice = "auto" | "relaxed" | "simd128";

/** Self-check of a freshly instantiated module: matmul_f32 (2 groups, 5 tokens, 37 columns) and
 *  matvec_f32 against a float64 reference. Catches an engine that validates relaxed SIMD but
 *  computes it wrongly (Node 20's baseline compiler did so for relaxed_dot; we only use
 *  relaxed_madd, but trust nothing unchecked). */
function selfCheck(arena: WasmArena, inst: WebAssembly.Instance): boolean {
  const mm = inst.exports.matmul_f32 as (...a: number[]) => void;
  const mv = inst.exports.matvec_f32 as (...a: number[]) => void;
  if (typeof mm !== "function" || typeof mv !== "function") return false;
  const rows = 8,
    cols = 37,
    nTok = 5;
  const wp = arena.alloc(rows * cols * 4),
    xp = arena.alloc(nTok * cols * 4),
    yp = arena.alloc(nTok * rows * 4);
  const w = arena.f32(wp, rows * cols),
    x = arena.f32(xp, nTok * cols),
    y = arena.f32(yp, nTok * rows);
  const W = (r: number, c: number) => Math.sin(r * 7.1 + c * 1.3) * 0.5;
  for (let g = 0; g < rows / 4; g++)
    for (let c = 0; c < cols; c++) for (let k = 0; k < 4; k++) w[(g * cols + c) * 4 + k] = W(g * 4 + k, c);
  for (let i = 0; i < x.length; i++) x[i] = Math.cos(i * 0.77);
  const ok = (t: number, r: number) => {
    let ref = 0,
      mag = 0;
    for (let c = 0; c < cols; c++) {
      ref += W(r, c) * x[t * cols + c];
      mag += Math.abs(W(r, c) * x[t * cols + c]);
    }
    return Math.abs(y[t * rows + r] - ref) <= 1e-5 * mag + 1e-7;
  };
  mm(wp, xp, yp, rows, cols, nTok, 0, rows / 4);
  for (let t = 0; t < nTok; t++) for (let r = 0; r < rows; r++) if (!ok(t, r)) return false;
  y.fill(0);
  mv(wp, xp, yp, rows, cols, 0, rows / 4);
  for (let r = 0; r < rows; r++) if (!ok(0, r)) return false;
  return true;
}

/** Self-check of the int8 dots (probe_dot8: the i32 relaxed_dot_add and the i16 relaxed_dot +
 *  widening): signed bytes -128..127 against 0..127 with an accumulator, 5 steps, against plain
 *  integer arithmetic. Node 20's Liftoff fails this (it
 *  drops the accumulator); its optimizing compiler passes. */
function selfCheckDot8(arena: WasmArena, inst: WebAssembly.Instance): boolean {
  const probe = inst.exports.probe_dot8 as (...a: number[]) => void;
  if (typeof probe !== "function") return false;
  const n = 5;
  const a = arena.alloc(16 * n),
    b = arena.alloc(16 * n),
    c = arena.alloc(16),
    o = arena.alloc(32);
  const A = new Int8Array(arena.memory.buffer, a, 16 * n),
    B = arena.u8(b, 16 * n),
    C = new Int32Array(arena.memory.buffer, c, 4),
    O = new Int32Array(arena.memory.buffer, o, 8);
  for (let i = 0; i < 16 * n; i++) {
    A[i] = ((i * 73 + 11) % 256) - 128;
    B[i] = (i * 29 + 5) % 128;
  }
  if (n > 1) ((A[0] = -128), (B[0] = 127), (A[1] = -128), (B[1] = 127));
  C.set([1, -2, 3, 100000]);
  probe(a, b, c, n, o);
  for (let l = 0; l < 4; l++) {
    let ref = C[l]!;
    for (let i = 0; i < n; i++)
      for (let k = 0; k < 4; k++) ref += A[16 * i + 4 * l + k]! * B[16 * i + 4 * l + k]!;
    if (O[l] !== ref || O[4 + l] !== ref) return false;
  }
  return true;
}

/**
 * Times the Q4_0 int8-dot matvec (256 rows x 2048 columns, in cache) of the i16 build `a` and
 * the i32-lane build `b`, alternating, best of 7 rounds each; true if b is at least 5% faster.
 * About 2 ms at load. Both instances share the memory, so they read the same data.
 */
function dot32Faster(arena: WasmArena, a: WebAssembly.Instance, b: WebAssembly.Instance): boolean {
  const fa = a.exports.matvec_q4_0_r as (...x: number[]) => void;
  const fb = b.exports.matvec_q4_0_r as (...x: number[]) => void;
  if (typeof fa !== "function" || typeof fb !== "function") return false;
  const rows = 256,
    nb = 64; // 2048 columns
  const w = arena.alloc((rows / 4) * nb * 72),
    xq = arena.alloc(nb * 32),
    xd = arena.alloc(nb * 4),
    xs = arena.alloc(nb * 4),
    y = arena.alloc(rows * 4);
  const bytes = arena.u8(w, (rows / 4) * nb * 72);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 151) & 0x77;
  const time = (f: (...x: number[]) => void) => {
    const t0 = performance.now();
    for (let k = 0; k < 8; k++) f(w, xq, xd, xs, y, rows, nb, 0, rows / 4);
    return performance.now() - t0;
  };
  time(fa);
  time(fb);
  let ta = Infinity,
    tb = Infinity;
  for (let r = 0; r < 7; r++) {
    ta = Math.min(ta, time(fa));
    tb = Math.min(tb, time(fb));
  }
  return tb < ta * 0.95;
}

function simdChoice(opts: WasmKernelOptions): SimdChoice {
  const env = isNode ? process.env.EDGELLM_SIMD : undefined;
  return opts.simd ?? (env === "relaxed" || env === "simd128" || env === "auto" ? env : "auto");
}

interface WasmWeight extends PreparedWeight {
  readonly owner: WasmKernelSet;
  readonly ptr: number;
  /** In the int8-dot layout (dot8.ts), run by the *_r kernels. */
  readonly dot8: boolean;
}

/** How the activation is prepared for a weight type (ggml's vec_dot_type): as is, rounded
 *  through fp16/bf16, or quantized to Q8_0 / Q8_1 / Q8_K (widened to i16, see quantize.ts). */
type ActFormat =
  "f32" | "f16" | "bf16" | "q8_0" | "q8_1" | "q8_k" | "i8_0" | "i8_0abs" | "i8_k" | "i8_kabs" | "i8_1";

/** Per weight type: activation format and kernel names. */
const KERNELS: ReadonlyMap<GGMLType, { act: ActFormat; mv: ExportName; mm: ExportName }> = new Map([
  [GGMLType.F32, { act: "f32", mv: "matvec_f32", mm: "matmul_f32" }],
  [GGMLType.F16, { act: "f16", mv: "matvec_f16", mm: "matmul_f16" }],
  [GGMLType.BF16, { act: "bf16", mv: "matvec_bf16", mm: "matmul_bf16" }],
  [GGMLType.Q8_0, { act: "q8_0", mv: "matvec_q8_0", mm: "matmul_q8_0" }],
  [GGMLType.Q4_0, { act: "q8_0", mv: "matvec_q4_0", mm: "matmul_q4_0" }],
  [GGMLType.Q4_1, { act: "q8_1", mv: "matvec_q4_1", mm: "matmul_q4_1" }],
  [GGMLType.Q5_0, { act: "q8_0", mv: "matvec_q5_0", mm: "matmul_q5_0" }],
  [GGMLType.Q5_1, { act: "q8_1", mv: "matvec_q5_1", mm: "matmul_q5_1" }],
  [GGMLType.Q4_K, { act: "q8_k", mv: "matvec_q4_k", mm: "matmul_q4_k" }],
  [GGMLType.Q5_K, { act: "q8_k", mv: "matvec_q5_k", mm: "matmul_q5_k" }],
  [GGMLType.Q6_K, { act: "q8_k", mv: "matvec_q6_k", mm: "matmul_q6_k" }],
  [GGMLType.Q2_K, { act: "i8_k", mv: "matvec_k16", mm: "matmul_k16" }],
  [GGMLType.Q3_K, { act: "i8_k", mv: "matvec_k16", mm: "matmul_k16" }],
  // IQ4: int8 dots on |activation| with the sign moved to the decoded weight (iq4.ts); on the
  // SIMD128 build the dots are the exact i16 emulation
  [GGMLType.IQ4_NL, { act: "i8_0abs", mv: "matvec_iq4_nl", mm: "matmul_iq4_nl" }],
  [GGMLType.IQ4_XS, { act: "i8_kabs", mv: "matvec_iq4_xs", mm: "matmul_iq4_xs" }],
  // MXFP4: IQ4_NL's dot with ggml's E2M1 table and an E8M0 block scale (iq4.ts)
  [GGMLType.MXFP4, { act: "i8_0abs", mv: "matvec_mxfp4", mm: "matmul_mxfp4" }],
] as const);

/** Kernels that take no activation sums (xs) argument. */
const NO_XS: ReadonlySet<GGMLType> = new Set([
  GGMLType.Q8_0,
  GGMLType.IQ4_NL,
  GGMLType.IQ4_XS,
  GGMLType.MXFP4,
]);

/** The int8-dot kernels (dot8.ts) and their activation formats: i8_0 = Q8_0 quants as int8,
 *  i8_0abs = |q| and sign mask (64 B per block), i8_k = Q8_K quants as int8. */
const KERNELS_DOT8: ReadonlyMap<GGMLType, { act: ActFormat; mv: ExportName; mm: ExportName }> = new Map([
  [GGMLType.Q8_0, { act: "i8_0abs", mv: "matvec_q8_0_r", mm: "matmul_q8_0_r" }],
  [GGMLType.Q4_0, { act: "i8_0", mv: "matvec_q4_0_r", mm: "matmul_q4_0_r" }],
  [GGMLType.Q4_K, { act: "i8_k", mv: "matvec_q4_k_r", mm: "matmul_q4_k_r" }],
  [GGMLType.Q5_K, { act: "i8_k", mv: "matvec_q5_k_r", mm: "matmul_q5_k_r" }],
  [GGMLType.Q6_K, { act: "i8_k", mv: "matvec_q6_k_r", mm: "matmul_q6_k_r" }],
  [GGMLType.Q4_1, { act: "i8_1", mv: "matvec_q4_1_r", mm: "matmul_q4_1_r" }],
  [GGMLType.Q5_0, { act: "i8_0", mv: "matvec_q5_0_r", mm: "matmul_q5_0_r" }],
  [GGMLType.Q5_1, { act: "i8_1", mv: "matvec_q5_1_r", mm: "matmul_q5_1_r" }],
] as const);

/** Activation quantizers: export, block width, bytes of xq per block, and the quantizer's
 *  number in rms_norm_quant (quantize.ts). */
const QUANT: Partial<Record<ActFormat, { fn: ExportName; qb: number; xqBytes: number; kind: number }>> = {
  q8_0: { fn: "quantize_q8_0", qb: 32, xqBytes: 64, kind: 0 },
  q8_1: { fn: "quantize_q8_1", qb: 32, xqBytes: 64, kind: 1 },
  q8_k: { fn: "quantize_q8_k", qb: 256, xqBytes: 512, kind: 2 },
  i8_0: { fn: "quantize_q8_0_i8", qb: 32, xqBytes: 32, kind: 3 },
  i8_0abs: { fn: "quantize_q8_0_abs", qb: 32, xqBytes: 64, kind: 4 },
  i8_k: { fn: "quantize_q8_k_i8", qb: 256, xqBytes: 256, kind: 5 },
  i8_kabs: { fn: "quantize_q8_k_abs", qb: 256, xqBytes: 512, kind: 6 },
  i8_1: { fn: "quantize_q8_1_i8", qb: 32, xqBytes: 32, kind: 7 },
};

/** File bytes per startWeight chunk by default (rounded to whole 4-row groups). */
const CHUNK_BYTES = 8 * 2 ** 20;

/** Tokens per matmul tile: the tile's activations (16 KB/token f32, 8 KB/token widened Q8 at
 *  4096 columns) should stay in L2 (512 KB on the Zen3 target) while a thread's weight rows pass
 *  once per tile. F32 weights (4 B each) favour longer tiles. Multiples of 4 (micro-kernel
 *  width). Measured on the loaded 2-core machine, 4096x4096, 64 tokens: F32 tile 8 -> 32 gave
 *  ~7.4 -> 9.4 GFLOP/s; Q tiles 16 and 32 were equal within noise, 64 (untiled) ~35% slower. */
const MATMUL_TILE_F32 = 32;
const MATMUL_TILE_Q = 16;

/** Element counts below this run on the calling thread (a dispatch costs more than the work). */
const PARALLEL_MIN = 1 << 16;
/** Query rows (tokens x heads of one KV head) the paged attention kernel serves per K/V pass. */
const ATTN_ROWS_PER_UNIT = 16;
/**
 * matmulBatch runs on the calling thread below this many multiply-adds. It was 256k (every LoRA B
 * product of a decode step inline, for fear of hand-off waits on a loaded machine); on the 850M
 * Q4_0 model with a rank-16 F16 adapter at 2 threads the inline B products left one core idle for
 * ~3 ms a token (bench/lora-overhead: LoRA 53.5 -> 47.0 ms/token with them on the pool, base
 * 41-43, other jobs paused). 16k keeps only the tiniest batches (a test model's) inline.
 */
const BATCH_INLINE_MAX = 1 << 14;

export async function createWasmKernelSet(opts: WasmKernelOptions = {}): Promise<WasmKernelSet> {
  const choice = opts.wasm !== undefined ? "simd128" : simdChoice(opts);
  let threads = opts.threads;
  let spawn = opts.spawn;
  if (isNode) {
    const host = await nodeHost();
    threads ??= host.nodeThreads();
    spawn ??= host.spawnNodeWorker;
  } else {
    const host = await import("./host-web.js");
    threads ??=
      (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
    spawn ??= host.spawnWebWorker;
    threads = host.webThreads(threads);
  }
  const shardBytes = shardBytesOption(opts);
  const arena = new WasmArena();
  const instantiate = (module: WebAssembly.Module) => instantiateOn(module, arena);
  let module: WebAssembly.Module | null = null;
  let inst: WebAssembly.Instance | null = null;
  let name = "wasm-simd128";
  let dot32 = false;
  if (choice !== "simd128") {
    const rm = await loadRelaxedKernelModule();
    if (rm) {
      const ri = instantiate(rm);
      const mark = arena.used;
      if (selfCheck(arena, ri) && selfCheckDot8(arena, ri)) {
        module = rm;
        inst = ri;
        name = "wasm-relaxed-simd";
        // The i32-lane int8 dots (DOT32 build) where this engine runs them faster.
        const envDot32 = isNode ? process.env.EDGELLM_DOT32 : undefined;
        const want32 = opts.dot32 ?? (envDot32 === "0" ? false : envDot32 === "1" ? true : undefined);
        const dm = want32 === false ? null : await loadRelaxedKernelModule("dot32");
        if (dm) {
          const di = instantiate(dm);
          if (selfCheck(arena, di) && selfCheckDot8(arena, di) && (want32 ?? dot32Faster(arena, ri, di))) {
            module = dm;
            inst = di;
            dot32 = true;
          }
        }
      }
      arena.reset(mark);
    }
    if (!inst && choice === "relaxed")
      throw new KernelError("relaxed-SIMD kernels are not available on this engine", {
        hint: "Node >= 22 or a current browser; on Node 20 run with --experimental-wasm-relaxed-simd; build with `npm run build:kernels`",
      });
  }
  if (!module || !inst) {
    module = await loadKernelModule(opts.wasm);
    inst = instantiate(module);
  }
  const fns = exportFns(inst);
  const pool = await ThreadPool.create(threads, module, arena.memory, [...EXPORTS], fns, spawn);
  const dot8 = dot8Types(
    opts.dot8,
    isNode ? process.env.EDGELLM_DOT8 : undefined,
    name === "wasm-relaxed-simd",
  );
  return new WasmKernelSet(arena, pool, fns, name, dot8, dot32, { module, shardBytes });
}

/** An instance of the kernels on the arena's memory, its vector constants written. */
function instantiateOn(module: WebAssembly.Module, arena: WasmArena): WebAssembly.Instance {
  try {
    const i = new WebAssembly.Instance(module, { env: { memory: arena.memory } });
    // The kernels' vector constants live in page 0 (kernels-src/assembly/common.ts, KC); one
    // write serves every instance on this memory, workers included.
    const init = i.exports.init_consts;
    if (typeof init === "function") (init as () => void)();
    return i;
  } catch (e) {
    throw new KernelError(`cannot instantiate the WASM kernels: ${(e as Error).message}`, {
      hint: "rebuild them with `npm run build:kernels`",
    });
  }
}

function exportFns(inst: WebAssembly.Instance): ((...a: number[]) => void)[] {
  return EXPORTS.map((n) => {
    const f = inst.exports[n];
    return (typeof f === "function" ? f : missing(n)) as (...a: number[]) => void;
  });
}

/**
 * The shards of one WASM kernel set. AssemblyScript 0.28 emits neither multi-memory nor memory64
 * (`--enable memory64` is accepted and ignored: the output is the same wasm32 module), so each
 * shard is its own shared memory with its own instance of the same module on every thread of the
 * one pool. Shards are created on demand, synchronously (ThreadPool.addShard), when a placement
 * asks for shard i == count.
 */
class WasmShards implements KernelSharding {
  readonly memoryLimit = SHARD_MEMORY_LIMIT;
  readonly sets: WasmKernelSet[] = [];
  constructor(
    private readonly module: WebAssembly.Module,
    readonly shardBytes: number,
  ) {}

  get count(): number {
    return this.sets.length;
  }

  /** Shard i, creating it (and any before it) when missing. */
  shard(i: number): WasmKernelSet {
    if (!(Number.isInteger(i) && i >= 0 && i < 1024)) throw new KernelError(`bad shard index ${i}`);
    while (this.sets.length <= i) {
      const root = this.sets[0]!;
      const arena = new WasmArena();
      const fns = exportFns(instantiateOn(this.module, arena));
      const pool = root.poolShard.pool;
      const index = pool.addShard(arena.memory, fns);
      this.sets.push(new WasmKernelSet(arena, pool, fns, root.name, root.dot8Types, root.dot32, this, index));
    }
    return this.sets[i]!;
  }

  usedBytes(i?: number): number {
    if (i !== undefined) return this.sets[i]?.arena.used ?? 0;
    return this.sets.reduce((a, s) => a + s.arena.used, 0);
  }
}

function missing(name: string): () => never {
  return () => {
    throw new KernelError(`the WASM module lacks export ${name}`, {
      hint: "rebuild with `npm run build:kernels`",
    });
  };
}

export class WasmKernelSet extends TsOps implements KernelSet {
  private readonly scratch = new Map<string, { ptr: number; bytes: number }>();
  /** Bumped when a scratch region moves (product plans key on it). */
  private scratchGen = 0;
  /** Product plans per site (keyed by its first weight), most recent first (productsInner). */
  private readonly plans = new WeakMap<WasmWeight, ProductPlan[]>();
  /** planKey's result (reused: copied into a new plan only). */
  private readonly keyTmp: number[] = [];
  /** The pool as this shard sees it (tasks run on this shard's instances). */
  readonly poolShard: PoolShard;
  private readonly pool: PoolShard;
  readonly sharding: WasmShards;

  constructor(
    /** This shard's memory. */
    readonly arena: WasmArena,
    pool: ThreadPool,
    private readonly fns: ((...a: number[]) => void)[],
    /** "wasm-simd128" or "wasm-relaxed-simd" (the build in use) */
    readonly name: string = "wasm-simd128",
    /** The weight types that use the int8-dot kernels (kernel-choice.ts, WasmKernelOptions.dot8). */
    readonly dot8Types: ReadonlySet<GGMLType> = new Set(),
    /** Whether the relaxed build accumulates its int8 dots in i32 lanes (the DOT32 build). */
    readonly dot32: boolean = false,
    /** The shard group, or what a new one (with this set as shard 0) needs. */
    shards: WasmShards | { module: WebAssembly.Module; shardBytes: number },
    /** This set's shard index (0 for the set createWasmKernelSet returns). */
    readonly shardIndex = 0,
  ) {
    super();
    this.poolShard = this.pool = new PoolShard(pool, shardIndex);
    if (shards instanceof WasmShards) this.sharding = shards;
    else {
      this.sharding = new WasmShards(shards.module, shards.shardBytes);
      this.sharding.sets.push(this);
    }
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Whether any weight type uses the int8-dot kernels on this set. */
  get dot8(): boolean {
    return this.dot8Types.size > 0;
  }

  supports(type: GGMLType): boolean {
    return KERNELS.has(type);
  }

  alloc(n: number): Float32Array {
    if (!Number.isInteger(n) || n < 0)
      throw new KernelError(`alloc size must be a non-negative integer, got ${n}`);
    return this.arena.f32(this.arena.alloc(n * 4), n);
  }

  prepareWeight(type: GGMLType, data: Uint8Array, rows: number, cols: number): PreparedWeight {
    return this.prepareWeightLayout(type, data, rows, cols, this.dot8Layout(type));
  }

  /** prepareWeight with the int8-dot layout chosen per weight (benchmarks and tests compare
   *  both kernels on one set; dot8 is ignored for types without one, or Q8_0 with -128). */
  prepareWeightLayout(
    type: GGMLType,
    data: Uint8Array,
    rows: number,
    cols: number,
    useDot8: boolean,
  ): PreparedWeight {
    if (!this.supports(type))
      throw new KernelError(`WASM kernels do not support ${ggmlTypeName(type)} weights`);
    const rowBytes = checkWeightArgs(type, data, rows, cols);
    const bytes = packedBytes(type, rows, cols);
    const ptr = this.arena.alloc(bytes);
    const dot8 =
      useDot8 && DOT8_TYPES.has(type) && (type !== GGMLType.Q8_0 || q8_0Dot8Ok(data, rows, cols, rowBytes));
    repack(type, data, rows, cols, rowBytes, this.arena.u8(ptr, bytes), dot8);
    const w: WasmWeight = { type, rows, cols, bytes, owner: this, ptr, dot8 };
    return w;
  }

  preparedSize(type: GGMLType, rows: number, cols: number): number {
    return Math.ceil(packedBytes(type, rows, cols) / 64) * 64;
  }

  /** A region of this shard's memory that matrices are repacked into later (WeightSlot). */
  reserveWeight(bytes: number): WeightSlot {
    const base = this.arena.alloc(bytes);
    const at = (offset: number, type: GGMLType, rows: number, cols: number) => {
      if (!this.supports(type))
        throw new KernelError(`WASM kernels do not support ${ggmlTypeName(type)} weights`);
      const size = packedBytes(type, rows, cols);
      if (!(Number.isInteger(offset) && offset >= 0 && offset % 64 === 0 && offset + size <= bytes))
        throw new KernelError(`weight of ${size} bytes does not fit at ${offset} in a ${bytes}-byte slot`);
      return { ptr: base + offset, size };
    };
    return {
      bytes,
      put: (offset, type, data, rows, cols) => {
        checkWeightArgs(type, data, rows, cols);
        const { ptr, size } = at(offset, type, rows, cols);
        const dot8 = packInto(type, data, rows, cols, this.arena.u8(ptr, size), this.packing().dot8Types);
        const w: WasmWeight = { type, rows, cols, bytes: size, owner: this, ptr, dot8 };
        return w;
      },
      putPacked: (offset, type, packed, rows, cols, dot8) => {
        const { ptr, size } = at(offset, type, rows, cols);
        if (packed.length !== size)
          throw new KernelError(
            `a packed ${ggmlTypeName(type)} ${rows}x${cols} weight is ${size} bytes, got ${packed.length}`,
          );
        if (dot8 && !this.dot8Layout(type))
          throw new KernelError(`this set does not use the int8-dot layout for ${ggmlTypeName(type)}`);
        this.arena.u8(ptr, size).set(packed);
        const w: WasmWeight = { type, rows, cols, bytes: size, owner: this, ptr, dot8 };
        return w;
      },
    };
  }

  /** The int8-dot choice of this set, for packing in another thread (WeightSlot.putPacked). */
  packing(): WeightPacking {
    return { dot8Types: [...this.dot8Types].filter((t) => this.dot8Layout(t)) };
  }

  /**
   * prepareWeight in row chunks (~8 MiB of file bytes each): the layouts are 4-row-group major
   * (repack.ts), so each chunk of whole groups repacks into its own slice. Q8_0 in the int8-dot
   * layout needs every row first (q8_0Dot8Ok scans for -128): takesRowChunks is false for it.
   */
  takesRowChunks(type: GGMLType): boolean {
    return this.supports(type) && !(type === GGMLType.Q8_0 && this.dot8Layout(type));
  }

  private dot8Layout(type: GGMLType): boolean {
    return this.dot8Types.has(type) && DOT8_TYPES.has(type);
  }

  startWeight(type: GGMLType, rows: number, cols: number, chunkBytes = CHUNK_BYTES): WeightWriter {
    if (!this.takesRowChunks(type))
      throw new KernelError(`${ggmlTypeName(type)} weights are prepared whole here (prepareWeight)`);
    const dot8 = this.dot8Layout(type);
    // prepareWeight's shape errors (checkWeightArgs throws them; no rows are at hand yet)
    if (!(Number.isInteger(rows) && rows > 0 && Number.isInteger(cols) && cols > 0))
      checkWeightArgs(type, new Uint8Array(0), rows, cols);
    if (cols % ggmlTypeTraits(type).blockSize !== 0) checkWeightArgs(type, new Uint8Array(0), rows, cols);
    const rowBytes = ggmlRowBytes(type, cols);
    const bytes = packedBytes(type, rows, cols);
    const groupBytes = packedBytes(type, 4, cols);
    const chunkRows = Math.max(4, Math.floor(chunkBytes / rowBytes / 4) * 4);
    const ptr = this.arena.alloc(bytes);
    let next = 0;
    return {
      chunkRows,
      rowBytes,
      write: (row0, src) => {
        const n = src.length / rowBytes;
        if (
          row0 !== next ||
          !Number.isInteger(n) ||
          n <= 0 ||
          row0 + n > rows ||
          (n !== chunkRows && row0 + n !== rows)
        )
          throw new KernelError(
            `weight rows ${row0}+${src.length / rowBytes} out of order (next ${next}, ${chunkRows} per chunk, ${rows} rows)`,
          );
        const g0 = row0 / 4;
        const dst = this.arena.u8(ptr + g0 * groupBytes, Math.ceil(n / 4) * groupBytes);
        repack(type, src, n, cols, rowBytes, dst, dot8);
        next = row0 + n;
      },
      done: () => {
        if (next !== rows) throw new KernelError(`weight has ${rows} rows, ${next} written`);
        const w: WasmWeight = { type, rows, cols, bytes, owner: this, ptr, dot8 };
        return w;
      },
    };
  }

  matvec(w: PreparedWeight, x: Float32Array, y: Float32Array): void {
    this.product(w, x, 1, y, true);
  }

  matmul(w: PreparedWeight, X: Float32Array, nTokens: number, Y: Float32Array): void {
    this.product(w, X, nTokens, Y, nTokens === 1);
  }

  dequantizeRow(pw: PreparedWeight, row: number, out: Float32Array): void {
    const w = this.own(pw);
    if (!Number.isInteger(row) || row < 0 || row >= w.rows)
      throw new KernelError(`row ${row} out of range [0, ${w.rows})`);
    checkVec("out", out, w.cols);
    unpackRow(w.type, this.arena.u8(w.ptr, w.bytes), w.rows, w.cols, row, out, w.dot8);
  }

  /** Runs a raw export over `units` work units on all threads (benchmarks and tests only). */
  dispatch(name: ExportName, args: number[], units: number): void {
    this.pool.run(IDX.get(name)!, args, units);
  }

  /** Stops the pool of every shard. */
  async dispose(): Promise<void> {
    await this.pool.dispose();
  }

  protected override runSoftmax(x: Float32Array, n: number, nRows: number): void {
    const px = this.place("a0", x, n * nRows, true);
    if (n * nRows < PARALLEL_MIN) this.fns[IDX.get("softmax_f32")!]!(px, n, 0, nRows);
    else this.pool.run(IDX.get("softmax_f32")!, [px, n], nRows);
    this.back(px, x, n * nRows);
  }

  protected override runRopeAngles(
    x: Float32Array,
    nTokens: number,
    nHeads: number,
    headDim: number,
    nRot: number,
    cos: Float32Array,
    sin: Float32Array,
    neox: boolean,
  ): void {
    const n = nTokens * nHeads * headDim;
    const px = this.place("a0", x, n, true);
    const pc = this.place("a1", cos, (nTokens * nRot) / 2, true);
    const ps = this.place("a2", sin, (nTokens * nRot) / 2, true);
    const args = [px, pc, ps, nHeads, headDim, nRot, neox ? 1 : 0];
    if (n < PARALLEL_MIN) this.fns[IDX.get("rope_f32")!]!(...args, 0, nTokens);
    else this.pool.run(IDX.get("rope_f32")!, args, nTokens);
    this.back(px, x, n);
  }

  protected override runSiluMul(gate: Float32Array, up: Float32Array, out: Float32Array, n: number): void {
    const g = this.place("a0", gate, n, true);
    const u = this.place("a1", up, n, true);
    const o = this.place("a2", out, n, false);
    this.elementwise("silu_mul", [g, u, o, n], n);
    this.back(o, out, n);
  }

  protected override runAdd(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    const pa = this.place("a0", a, n, true);
    const pb = this.place("a1", b, n, true);
    const o = this.place("a2", out, n, false);
    this.elementwise("add_f32", [pa, pb, o, n], n);
    this.back(o, out, n);
  }

  protected override runRmsNorm(
    x: Float32Array,
    weight: Float32Array,
    out: Float32Array,
    n: number,
    nRows: number,
    eps: number,
  ): void {
    const px = this.place("a0", x, n * nRows, true);
    const pw = this.place("a1", weight, n, true);
    const o = this.place("a2", out, n * nRows, false);
    const args = [px, pw, o, n, eps];
    // One unit per row; a single row (decode) runs on the calling thread.
    if (nRows * n < PARALLEL_MIN) this.fns[IDX.get("rms_norm")!]!(...args, 0, nRows);
    else this.pool.run(IDX.get("rms_norm")!, args, nRows);
    this.back(o, out, n * nRows);
  }

  protected override runAttention(
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
    scale: number,
  ): void {
    // K/V caches that do not live in WASM memory are copied in on every call: keep them in
    // alloc() buffers to avoid that.
    const nq = nTokens * nHead * hd;
    const nk = nKV * nHeadKV * hd;
    const pq = this.place("a0", q, nq, true);
    const pk = this.place("a1", k, nk, true);
    const pv = this.place("a2", v, nk, true);
    const o = this.place("a3", out, nq, false);
    // One unit per (token, KV head) = the GQA group's query heads: threads split groups, each
    // output row is computed whole by one thread. ml: running max and sum per query head.
    const units = nTokens * nHeadKV;
    const ml = this.buf("ml", nTokens * nHead * 8); // f32 [nTokens*nHead][2]
    this.pool.run(
      IDX.get("attention_f32")!,
      [pq, pk, pv, o, nTokens, nKV, nHead, nHeadKV, hd, pos0, scale, ml],
      units,
    );
    this.back(o, out, nq);
  }

  protected override runAttentionFull(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    n: number,
    nHead: number,
    hd: number,
    scale: number,
  ): void {
    // The 4-key SIMD path needs whole vectors per head; other widths take the TypeScript path.
    if (hd % 4 !== 0) {
      super.runAttentionFull(q, k, v, out, n, nHead, hd, scale);
      return;
    }
    const nq = n * nHead * hd;
    const pq = this.place("a0", q, nq, true);
    const pk = this.place("a1", k, nq, true);
    const pv = this.place("a2", v, nq, true);
    const o = this.place("a3", out, nq, false);
    const zero = this.buf("tbl", 4);
    new Int32Array(this.arena.memory.buffer, zero, 1)[0] = 0;
    const ml = this.buf("ml", n * nHead * 8);
    this.pool.run(IDX.get("attention_full_f32")!, [pq, pk, pv, o, n, nHead, hd, scale, ml, zero], n * nHead);
    this.back(o, out, nq);
  }

  protected override runAttentionPaged(
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
    window: number,
    sinks?: Float32Array,
  ): void {
    const pk = this.arena.offsetOf(kv.k);
    const pv = this.arena.offsetOf(kv.v);
    const kt = kv.kType ?? (kv.half ? "f16" : "f32");
    const vt = kv.vType ?? (kv.half ? "f16" : "f32");
    // Quantized or mixed-type K/V rows: attention_paged_q (kernels-src/assembly/attention_q.ts);
    // f32 or f16 rows alike: attention_paged (attention.ts).
    const quantized = kt === "q8_0" || kt === "q4_0" || vt === "q8_0" || vt === "q4_0" || kt !== vt;
    // The kernels read the cache in place: a cache outside WASM memory (or heads not a multiple
    // of 4 wide where rows are widened or unpacked) takes the TypeScript path rather than a copy
    // of the whole pool.
    if (pk < 0 || pv < 0 || (hd % 4 !== 0 && (quantized || kv.half))) {
      super.runAttentionPaged(q, kv, out, nTokens, nKV, nHead, nHeadKV, hd, pos0, scale, window, sinks);
      return;
    }
    const nq = nTokens * nHead * hd;
    const pq = this.place("a0", q, nq, true);
    const o = this.place("a3", out, nq, false);
    const nBlk = Math.ceil(nKV / kv.blockSize);
    const pt = this.buf("tbl", nBlk * 4);
    new Int32Array(this.arena.memory.buffer, pt, nBlk).set(kv.table.subarray(0, nBlk));
    const ml = this.buf("ml", nTokens * nHead * 8);
    const args = [pq, pk, pv, o, nTokens, nKV, nHead, nHeadKV, hd, pos0, scale, ml, pt, kv.blockSize];
    if (quantized) {
      // row formats, then scratch for q quantized to Q8_0 (as ggml's flash attention does)
      const FMT: Record<string, number> = { f32: 0, f16: 1, q8_0: 2, q4_0: 3 };
      const qq = this.buf("qq", Math.max(1, nTokens * nHead * Math.ceil(hd / 32) * 80));
      args.push(FMT[kt]!, FMT[vt]!, window, qq);
    } else args.push(kv.half ? 1 : 0, window);
    // Query rows per unit: a block of tb tokens x the KV head's G query heads share each chunk of
    // K/V rows (kernels-src/assembly/attention.ts); ~16 rows per unit, never more tokens than given.
    const G = nHead / nHeadKV;
    const tb = Math.max(1, Math.min(nTokens, Math.ceil(ATTN_ROWS_PER_UNIT / G)));
    const units = Math.ceil(nTokens / tb) * nHeadKV;
    // f16 and quantized rows are widened or unpacked once per chunk into a per-call scratch slice
    // (indexed by a call's first unit: hd * 32 bytes per unit); f32 rows are read as they are.
    const scr = quantized || kv.half ? this.buf("kvc", units * hd * 32) : 0;
    args.push(tb, scr);
    const fn = IDX.get(quantized ? "attention_paged_q" : "attention_paged")!;
    // Short decode steps run on the calling thread (a pool barrier costs more than the work).
    if (nTokens * nKV * nHead * hd < PARALLEL_MIN * 4) this.fns[fn]!(...args, 0, units);
    else this.pool.run(fn, args, units);
    if (sinks) this.applySinks(o, nTokens, nHead, hd, sinks);
    this.back(o, out, nq);
  }

  /**
   * Attention sinks (kernels-src/assembly/sinks.ts) on rows a paged kernel just wrote at `po` in
   * WASM memory; the kernel's per-row max and sum are still in the "ml" scratch. One pass over
   * nTokens * nHead rows of hd on the calling thread (a decode step's is a few thousand multiplies).
   */
  private applySinks(po: number, nTokens: number, nHead: number, hd: number, sinks: Float32Array): void {
    const rows = nTokens * nHead;
    const ps = this.buf("sinks", nHead * 4);
    this.arena.f32(ps, nHead).set(sinks.subarray(0, nHead));
    this.fns[IDX.get("attention_sinks")!]!(po, this.buf("ml", rows * 8), ps, nHead, hd, 0, rows);
  }

  /** Element-wise kernel over n elements in 1024-element units, threaded when n is large. */
  private elementwise(name: ExportName, args: number[], n: number): void {
    const units = Math.ceil(n / 1024);
    if (n < PARALLEL_MIN) this.fns[IDX.get(name)!]!(...args, 0, units);
    else this.pool.run(IDX.get(name)!, args, units);
  }

  /** Byte offset of v's first n floats in WASM memory: v itself if it lives there, else a
   *  scratch slot (filled from v when copyIn). */
  private place(slot: string, v: Float32Array, n: number, copyIn: boolean): number {
    const p = this.arena.offsetOf(v);
    if (p >= 0) return p;
    const s = this.buf(slot, n * 4);
    if (copyIn) this.arena.f32(s, n).set(v.subarray(0, n));
    return s;
  }

  /** Copies a result from scratch to `out` when out does not live in WASM memory. */
  private back(ptr: number, out: Float32Array, n: number): void {
    if (this.arena.offsetOf(out) < 0) out.set(this.arena.f32(ptr, n));
  }

  private own(pw: PreparedWeight): WasmWeight {
    const w = pw as WasmWeight;
    if (w.owner !== this) throw new KernelError("weight was prepared by another KernelSet");
    return w;
  }

  /** A scratch region of at least `bytes`, reused across calls (grown by reallocation). */
  private buf(name: string, bytes: number): number {
    const s = this.scratch.get(name);
    if (s && s.bytes >= bytes) return s.ptr;
    const size = Math.max(bytes, (s?.bytes ?? 0) * 2);
    const ptr = this.arena.alloc(size);
    this.scratch.set(name, { ptr, bytes: size });
    this.scratchGen++; // product plans made before hold the old places
    return ptr;
  }

  private product(pw: PreparedWeight, X: Float32Array, nTok: number, Y: Float32Array, single: boolean): void {
    const w = this.own(pw);
    if (!Number.isInteger(nTok) || nTok < 1)
      throw new KernelError(`nTokens must be a positive integer, got ${nTok}`);
    checkVec("X", X, nTok * w.cols);
    checkVec("Y", Y, nTok * w.rows);
    this.products([w], X, nTok, [Y], single, null);
  }

  protected override runMatmulMany(
    ws: readonly PreparedWeight[],
    X: Float32Array,
    nTokens: number,
    Ys: readonly Float32Array[],
    deltas?: readonly LowRankDelta[],
  ): void {
    this.products(
      ws.map((w) => this.own(w)),
      X,
      nTokens,
      Ys,
      nTokens === 1,
      null,
      deltas,
    );
  }

  /**
   * Each item's input in WASM memory (in place, or copied to its own slot), prepared in its own
   * activation slots, all products' tasks in one batch; below BATCH_INLINE_MAX multiply-adds in
   * all the batch runs on this thread (the same kernels over all units: same bits, no hand-off).
   */
  protected override runMatmulBatch(items: readonly MatmulItem[]): void {
    const tasks: PoolTask[] = [];
    const outs: { yp: number; Y: Float32Array; len: number }[] = [];
    let work = 0;
    items.forEach((it, i) => {
      const w = this.own(it.w);
      const nTok = it.nTokens;
      const n = nTok * w.cols;
      let xp = this.arena.offsetOf(it.X);
      if (xp < 0) {
        xp = this.buf(`bx${i}`, n * 4);
        this.arena.f32(xp, n).set(it.X.subarray(0, n));
      }
      const k = (w.dot8 ? KERNELS_DOT8 : KERNELS).get(w.type)!;
      const a = this.prepareAct(k.act, xp, nTok, w.cols, `.b${i}`);
      let yp = this.arena.offsetOf(it.Y);
      if (yp < 0) {
        yp = this.buf(`by${i}`, nTok * w.rows * 4);
        outs.push({ yp, Y: it.Y, len: nTok * w.rows });
      }
      this.productTasks(w, k, a, yp, nTok, nTok === 1, tasks);
      work += nTok * w.rows * w.cols;
    });
    if (work < BATCH_INLINE_MAX) for (const t of tasks) this.fns[t.fn]!(...t.args, 0, t.units);
    else this.pool.runBatch(tasks);
    for (const o of outs) o.Y.set(this.arena.f32(o.yp, o.len));
  }

  protected override runNormMatmul(
    x: Float32Array,
    weight: Float32Array,
    eps: number,
    ws: readonly PreparedWeight[],
    nTokens: number,
    Ys: readonly Float32Array[],
    normOut: Float32Array | undefined,
    deltas?: readonly LowRankDelta[],
  ): void {
    this.products(
      ws.map((w) => this.own(w)),
      x,
      nTokens,
      Ys,
      nTokens === 1,
      { weight, eps, normOut },
      deltas,
    );
  }

  /**
   * Ys[i] = X . ws[i]^T for weights sharing X's width: X (optionally RMS-normalized first) is
   * prepared once per activation format (the first quantized format fused with the norm), then
   * every product's tasks (token tiles x 4-row groups) go to the pool as one batch.
   * Low-rank deltas with an F32 or F16 B ride in the same batch: their A products as `pre` tasks
   * (writing A x to scratch, rounded to fp16 by the same chunk for an F16 B), and each base
   * task's chunk then adds scale * B (A x) into the rows it wrote (kernels-src/assembly/lora.ts:
   * the B product's and the add's bits, no second hand-off, no copy). Other B types: the A
   * products in the batch, then the reference's B products and adds (TsOps.addDeltas).
   */
  private products(
    ws: readonly WasmWeight[],
    X: Float32Array,
    nTok: number,
    Ys: readonly Float32Array[],
    single: boolean,
    norm: { weight: Float32Array; eps: number; normOut: Float32Array | undefined } | null,
    deltas?: readonly LowRankDelta[],
  ): void {
    const cols = ws[0]!.cols;
    const n = nTok * cols;
    let xp = this.arena.offsetOf(X);
    if (xp < 0) {
      xp = this.buf("x", n * 4);
      this.arena.f32(xp, n).set(X.subarray(0, n));
    }
    if (deltas && !deltas.every((d) => FUSED_B.has(this.own(d.b).type))) {
      // Rare (a Q8_0 B): the products, then each delta apart on a copy of the (normalized) input.
      const hp = this.productsInner(ws, xp, nTok, Ys, single, norm);
      this.addDeltas(this.arena.f32(hp, n).slice(), nTok, Ys, deltas);
      return;
    }
    this.productsInner(ws, xp, nTok, Ys, single, norm, deltas);
  }

  /** products() with X at xp in WASM memory; returns where the (normalized) input is. */
  private productsInner(
    ws: readonly WasmWeight[],
    xp: number,
    nTok: number,
    Ys: readonly Float32Array[],
    single: boolean,
    norm: { weight: Float32Array; eps: number; normOut: Float32Array | undefined } | null,
    deltas?: readonly LowRankDelta[],
  ): number {
    const key = this.planKey(ws[0]!.cols, xp, nTok, Ys, single, norm);
    const plans = this.plans.get(ws[0]!) ?? [];
    let plan: ProductPlan | undefined;
    for (const p of plans)
      if (sameList(p.ws, ws) && sameDeltas(p.dk, deltas) && sameList(p.key, key)) {
        plan = p;
        break;
      }
    if (!plan) {
      plan = this.makePlan(ws, xp, nTok, Ys, single, norm, deltas);
      plan.key = this.planKey(ws[0]!.cols, xp, nTok, Ys, single, norm).slice(); // after its scratch
      plan.dk = deltas ? deltas.flatMap((d) => [d.out, d.a, d.b, d.scale]) : [];
      if (plans.unshift(plan) > PLANS_PER_SITE) plans.pop();
      this.plans.set(ws[0]!, plans);
    }
    for (const op of plan.prep)
      if (op.units < 0) this.fns[op.fn]!(...op.args);
      else if (op.here) this.fns[op.fn]!(...op.args, 0, op.units);
      else this.pool.run(op.fn, op.args, op.units);
    if (plan.copyNorm) norm!.normOut!.set(this.arena.f32(plan.hp, nTok * ws[0]!.cols));
    this.pool.runBatch(plan.tasks, true);
    for (const o of plan.outs) Ys[o.i]!.set(this.arena.f32(o.yp, o.len));
    return plan.hp;
  }

  /** What a product plan depends on besides its weights and deltas: the input, norm and output
   *  places, the shape, and the scratch generation (its buffers' places). */
  private planKey(
    cols: number,
    xp: number,
    nTok: number,
    Ys: readonly Float32Array[],
    single: boolean,
    norm: { weight: Float32Array; eps: number; normOut: Float32Array | undefined } | null,
  ): readonly number[] {
    const k = this.keyTmp;
    k.length = 0;
    k.push(this.scratchGen, xp, nTok, cols, single ? 1 : 0);
    if (norm)
      k.push(
        this.place("nw", norm.weight, cols, true),
        norm.eps,
        norm.normOut ? this.arena.offsetOf(norm.normOut) : -2,
      );
    for (const Y of Ys) k.push(this.arena.offsetOf(Y));
    return k;
  }

  /**
   * The work of one products call, made once per site and reused while its key holds (decode
   * calls every site with the same weights, deltas and buffers each step): `prep` (the norm and
   * the activations' rounding or quantization, run on every call), the batch's tasks (A x as pre
   * tasks, rounded in place for an F16 B; base product chunks with their B adds as afters) and
   * the copies of results that do not live in WASM memory.
   */
  private makePlan(
    ws: readonly WasmWeight[],
    xp: number,
    nTok: number,
    Ys: readonly Float32Array[],
    single: boolean,
    norm: { weight: Float32Array; eps: number; normOut: Float32Array | undefined } | null,
    deltas?: readonly LowRankDelta[],
  ): ProductPlan {
    const cols = ws[0]!.cols;
    const n = nTok * cols;
    const as = deltas ? deltas.map((d) => this.own(d.a)) : [];
    const kern = [...ws, ...as].map((w) => (w.dot8 ? KERNELS_DOT8 : KERNELS).get(w.type)!);
    const acts = new Map<ActFormat, Act>();
    const prep: PrepOp[] = [];
    let copyNorm = false;
    if (norm) {
      // The normalized rows go to normOut (in place when it is WASM memory) or scratch.
      let hp = norm.normOut ? this.arena.offsetOf(norm.normOut) : -1;
      copyNorm = norm.normOut !== undefined && hp < 0;
      if (hp < 0) hp = this.buf("xn", n * 4);
      const pw = this.place("nw", norm.weight, cols, true);
      const first = kern.find((k) => QUANT[k.act]);
      const here = n < PARALLEL_MIN;
      if (first) {
        const a = this.actBuffers(first.act, nTok, cols);
        const args = [xp, pw, hp, cols, norm.eps, QUANT[first.act]!.kind, a.nb, a.xq, a.xd, a.xs];
        prep.push({ fn: IDX.get("rms_norm_quant")!, args, units: nTok, here });
        acts.set(first.act, a);
      } else prep.push({ fn: IDX.get("rms_norm")!, args: [xp, pw, hp, cols, norm.eps], units: nTok, here });
      xp = hp;
    }
    for (const k of kern)
      if (!acts.has(k.act)) acts.set(k.act, this.planAct(k.act, xp, nTok, cols, "", prep));
    const tasks: PoolTask[] = [];
    // A x per delta (pre tasks: first in the batch), rounded in place for an F16 B.
    const axs: number[] = [];
    as.forEach((a, i) => {
      const ax = this.buf(AX_SLOTS[i] ?? `lax${i}`, nTok * a.rows * 4);
      axs.push(ax);
      const k = kern[ws.length + i]!;
      const from = tasks.length;
      const tiles: [number, number][] = [];
      this.productTasks(a, k, acts.get(k.act)!, ax, nTok, single, tasks, tiles);
      const half = this.own(deltas![i]!.b).type === GGMLType.F16;
      for (let j = from; j < tasks.length; j++) {
        const t = tasks[j]!;
        t.pre = true;
        if (half) {
          const [t0, nt] = tiles[j - from]!;
          t.after = [{ fn: IDX_LORA_ROUND, args: [ax + t0 * a.rows * 4, a.rows, nt] }];
        }
      }
    });
    const outs: { i: number; yp: number; len: number }[] = [];
    ws.forEach((w, i) => {
      let yp = this.arena.offsetOf(Ys[i]!);
      if (yp < 0) {
        yp = this.buf(`y${i}`, nTok * w.rows * 4);
        outs.push({ i, yp, len: nTok * w.rows });
      }
      const from = tasks.length;
      const tiles: [number, number][] | undefined = deltas?.some((d) => d.out === i) ? [] : undefined;
      this.productTasks(w, kern[i]!, acts.get(kern[i]!.act)!, yp, nTok, single, tasks, tiles);
      if (!tiles) return;
      // Each chunk of the base product adds the deltas (in order) into the rows it wrote.
      for (let j = from; j < tasks.length; j++) {
        const t = tasks[j]!;
        const [t0, nt] = tiles[j - from]!;
        const after: { fn: number; args: number[] }[] = [];
        deltas!.forEach((d, di) => {
          if (d.out !== i) return;
          const b = this.own(d.b);
          const r = b.cols;
          const args = [b.ptr, axs[di]! + t0 * r * 4, yp + t0 * w.rows * 4, w.rows, r, nt, d.scale];
          if (b.type === GGMLType.F32) args.push(nTok === 1 ? 1 : 0);
          after.push({ fn: b.type === GGMLType.F32 ? IDX_LORA_F32 : IDX_LORA_F16, args });
        });
        t.after = after;
      }
    });
    return { ws: [...ws], dk: [], key: [], prep, copyNorm, hp: xp, tasks, outs };
  }

  /** Scratch for one activation format (one slot per format, so formats coexist in a batch). */
  private actBuffers(fmt: ActFormat, nTok: number, cols: number, slot = ""): Act {
    const qf = QUANT[fmt]!;
    const nb = cols / qf.qb;
    const xqs = nb * qf.xqBytes; // bytes per token
    return {
      xq: this.buf(`xq.${fmt}${slot}`, nTok * xqs),
      xd: this.buf(`xd.${fmt}${slot}`, nTok * nb * 4),
      // per 32 (Q8_0: i32 sum, Q8_1: f32 s) or 16 (Q8_K: i32 sum)
      xs: this.buf(`xs.${fmt}${slot}`, nTok * cols * (4 / 16)),
      nb,
      xqs,
      xss: qf.qb === 256 ? nb * 64 : nb * 4,
    };
  }

  /** The activation as weight type `fmt` wants it (f32 as is, rounded, or quantized once);
   *  `slot` names separate scratch for activations that coexist in one batch. */
  private prepareAct(fmt: ActFormat, xp: number, nTok: number, cols: number, slot = ""): Act {
    const ops: PrepOp[] = [];
    const a = this.planAct(fmt, xp, nTok, cols, slot, ops);
    for (const op of ops)
      if (op.units < 0) this.fns[op.fn]!(...op.args);
      else this.pool.run(op.fn, op.args, op.units);
    return a;
  }

  /** prepareAct's buffers, and its work appended to `ops` (not run). */
  private planAct(fmt: ActFormat, xp: number, nTok: number, cols: number, slot: string, ops: PrepOp[]): Act {
    if (fmt === "f32" || fmt === "f16" || fmt === "bf16") {
      let xa = xp;
      if (fmt !== "f32") {
        xa = this.buf(`xr.${fmt}${slot}`, nTok * cols * 4);
        ops.push({
          fn: IDX.get(fmt === "f16" ? "round_f16" : "round_bf16")!,
          args: [xp, nTok * cols, xa],
          units: -1,
          here: true,
        });
      }
      return { xq: xa, xd: 0, xs: 0, nb: 0, xqs: cols * 4, xss: 0 };
    }
    const a = this.actBuffers(fmt, nTok, cols, slot);
    // One work unit per token: long prefills quantize on all threads.
    ops.push({ fn: IDX.get(QUANT[fmt]!.fn)!, args: [xp, a.nb, a.xq, a.xd, a.xs], units: nTok, here: false });
    return a;
  }

  /** Pool tasks of one product: one matvec over all groups, or one task per token tile. Token
   *  tiles: each thread passes over its weight rows once per tile while the tile's activations
   *  stay in L2; the tiles run back to back in one batch (no barrier between them). Per-token
   *  results do not depend on the tiling (see the kernels' matmul). */
  private productTasks(
    w: WasmWeight,
    k: { act: ActFormat; mv: ExportName; mm: ExportName },
    a: Act,
    yp: number,
    nTok: number,
    single: boolean,
    tasks: PoolTask[],
    /** Receives each pushed task's first token and token count. */
    tiles?: [number, number][],
  ): void {
    const groups = Math.ceil(w.rows / 4);
    const float = a.nb === 0;
    const args = (t0: number): number[] => {
      if (float) return [w.ptr, a.xq + t0 * a.xqs, yp + t0 * w.rows * 4, w.rows, w.cols];
      const r = [w.ptr, a.xq + t0 * a.xqs, a.xd + t0 * a.nb * 4];
      if (!NO_XS.has(w.type)) r.push(a.xs + t0 * a.xss);
      r.push(yp + t0 * w.rows * 4, w.rows, a.nb);
      return r;
    };
    if (single) {
      tasks.push({ fn: IDX.get(k.mv)!, args: args(0), units: groups });
      tiles?.push([0, 1]);
      return;
    }
    const tile = float ? MATMUL_TILE_F32 : MATMUL_TILE_Q;
    const fn = IDX.get(k.mm)!;
    for (let t0 = 0; t0 < nTok; t0 += tile) {
      const nt = Math.min(tile, nTok - t0);
      tasks.push({ fn, args: [...args(t0), nt], units: groups });
      tiles?.push([t0, nt]);
    }
  }
}

/** B types whose delta is added inside the base product's chunks (kernels-src/assembly/lora.ts). */
const FUSED_B: ReadonlySet<GGMLType> = new Set([GGMLType.F32, GGMLType.F16]);
const IDX_LORA_F16 = IDX.get("lora_add_f16")!;
const IDX_LORA_F32 = IDX.get("lora_add_f32")!;
const IDX_LORA_ROUND = IDX.get("lora_round_f16")!;
/** Scratch names of the deltas' A x (made once). */
const AX_SLOTS = Array.from({ length: 16 }, (_, i) => `lax${i}`);

/** Plans kept per site: decode alternates few variants (with or without an adapter list). */
const PLANS_PER_SITE = 4;

/** One export call of a plan's preparation: on this thread with (0, units) appended, without
 *  a unit range when units < 0, or on the pool. */
interface PrepOp {
  fn: number;
  args: number[];
  units: number;
  here: boolean;
}

/** A products call's work, reused while ws, deltas and key are the same (makePlan). */
interface ProductPlan {
  ws: readonly WasmWeight[];
  /** The deltas it adds: out, a, b, scale of each. */
  dk: unknown[];
  key: number[];
  prep: PrepOp[];
  /** normOut is not WASM memory: copy the normalized rows there. */
  copyNorm: boolean;
  /** Where the (normalized) input is. */
  hp: number;
  tasks: PoolTask[];
  outs: { i: number; yp: number; len: number }[];
}

/** Whether `dk` (out, a, b, scale per delta) describes `deltas`. */
function sameDeltas(dk: readonly unknown[], deltas: readonly LowRankDelta[] | undefined): boolean {
  const n = deltas ? deltas.length : 0;
  if (dk.length !== 4 * n) return false;
  for (let i = 0; i < n; i++) {
    const d = deltas![i]!;
    if (dk[4 * i] !== d.out || dk[4 * i + 1] !== d.a || dk[4 * i + 2] !== d.b || dk[4 * i + 3] !== d.scale)
      return false;
  }
  return true;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A prepared activation in WASM memory: xq (or the f32/rounded input when nb = 0), block
 *  scales xd and sums xs, blocks per token nb, per-token byte strides of xq and xs. */
interface Act {
  xq: number;
  xd: number;
  xs: number;
  nb: number;
  xqs: number;
  xss: number;
}

export { PACKED };
