/**
 * Weight binding: GGUF tensor name -> Weight (bytes kept in their file type, never dequantized
 * wholesale). Names are exactly as in the file (`blk.3.ffn_gate_exps.weight`), so binding is a
 * lookup; a missing or mis-shaped tensor is a ModelError naming the tensor and the expected shape.
 */
import { ModelError } from "../errors.js";
import type { GGUFFile, GGUFTensorInfo } from "../gguf/reader.js";
import { GGMLType, ggmlTypeTraits } from "../gguf/types.js";
import { dequantizeRowAny } from "./blocks/linear.js";
import type { KernelSet, WeightWriter } from "../kernels/kernel-set.js";
import type { Weight } from "./weight.js";

export type { Weight } from "./weight.js";

export function makeWeight(name: string, type: GGMLType, dims: number[], data: Uint8Array): Weight {
  const cols = dims[0] ?? 1;
  const rows = dims[1] ?? 1;
  const nMat = dims[2] ?? 1;
  const tr = ggmlTypeTraits(type);
  const rowBytes = (cols / tr.blockSize) * tr.typeSize;
  let f32: Float32Array | undefined;
  if (type === GGMLType.F32) {
    // Tensor reads return fresh buffers (offset 0) or aligned file views; copy if misaligned.
    const buf = data.byteOffset % 4 === 0 ? data : data.slice();
    f32 = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  }
  return { name, type, rows, cols, nMat, rowBytes, data, f32 };
}

/** Matrix `e` of a stacked (expert) weight, as a Weight sharing the bytes (or its prepared handle). */
export function expertSlice(w: Weight, e: number): Weight {
  if (w.mats) return w.mats[e];
  const bytes = w.rowBytes * w.rows;
  const data = w.data.subarray(e * bytes, (e + 1) * bytes);
  return makeWeight(`${w.name}[${e}]`, w.type, [w.cols, w.rows], data);
}

/**
 * Move a matrix (each matrix of a stack separately) into the KernelSet and drop our copy of the
 * bytes. Returns false, leaving `w` as is, when the set does not take its type.
 */
export function prepareInto(w: Weight, ks: KernelSet, keepBytes = false): boolean {
  if (w.kernel || w.mats || !ks.supports(w.type)) return false;
  if (w.nMat === 1) {
    w.kernel = { ks, pw: ks.prepareWeight(w.type, w.data, w.rows, w.cols) };
  } else {
    const mats: Weight[] = [];
    for (let e = 0; e < w.nMat; e++) {
      const m = expertSlice(w, e);
      m.kernel = { ks, pw: ks.prepareWeight(m.type, m.data, m.rows, m.cols) };
      m.data = new Uint8Array(0);
      m.f32 = undefined;
      mats.push(m);
    }
    w.mats = mats;
  }
  if (!keepBytes) {
    w.data = new Uint8Array(0);
    w.f32 = undefined;
  }
  return true;
}

/** Bytes of each end of a tensor read in chunks that loaders hand on (fingerprint samples). */
export const EDGE_BYTES = 4096;

/** Row-chunk loading of one matrix (or stack) into a KernelSet: see prepareChunked. */
class ChunkedLoad {
  /** [byte offset in the tensor, length, matrix, first row] per chunk, in file order. */
  readonly chunks: [number, number, number, number][] = [];
  private head?: Uint8Array;
  private tail?: Uint8Array;
  constructor(
    private readonly w: Weight,
    private readonly ks: KernelSet,
    private readonly writers: WeightWriter[],
  ) {
    const matBytes = w.rows * w.rowBytes;
    const step = writers[0]!.chunkRows * w.rowBytes;
    for (let e = 0; e < w.nMat; e++)
      for (let off = 0; off < matBytes; off += step)
        this.chunks.push([e * matBytes + off, Math.min(step, matBytes - off), e, off / w.rowBytes]);
  }

  static start(w: Weight, ks: KernelSet): ChunkedLoad | undefined {
    if (w.kernel || w.mats || !ks.startWeight || !ks.takesRowChunks?.(w.type)) return undefined;
    const writers: WeightWriter[] = [];
    for (let e = 0; e < w.nMat; e++) writers.push(ks.startWeight(w.type, w.rows, w.cols));
    return new ChunkedLoad(w, ks, writers);
  }

  put(i: number, bytes: Uint8Array): void {
    const [, , e, row0] = this.chunks[i]!;
    const last = this.chunks.length - 1;
    if (last === 0) this.head = bytes.slice();
    else if (i === 0) this.head = bytes.slice(0, Math.min(EDGE_BYTES, bytes.length));
    else if (i === last) this.tail = bytes.slice(Math.max(0, bytes.length - EDGE_BYTES));
    this.writers[e]!.write(row0, bytes);
  }

  /** Binds the prepared matrices to `w`; returns the tensor's two ends (or all of it). */
  finish(): Uint8Array {
    const { w, ks } = this;
    if (w.nMat === 1) w.kernel = { ks, pw: this.writers[0]!.done() };
    else
      w.mats = this.writers.map((wr, e) => {
        const m = makeWeight(`${w.name}[${e}]`, w.type, [w.cols, w.rows], new Uint8Array(0));
        m.kernel = { ks, pw: wr.done() };
        m.f32 = undefined;
        return m;
      });
    w.data = new Uint8Array(0);
    w.f32 = undefined;
    const head = this.head ?? new Uint8Array(0);
    if (!this.tail) return head;
    const out = new Uint8Array(head.length + this.tail.length);
    out.set(head);
    out.set(this.tail, head.length);
    return out;
  }
}

/**
 * Move a matrix (each matrix of a stack) into the KernelSet in row chunks (~8 MiB) read by
 * `read` (a byte range of the tensor's data), one read ahead, so no whole-tensor copy exists
 * outside the set (KernelSet.startWeight). Returns the tensor's first and last EDGE_BYTES (all
 * of it when one chunk holds it), or undefined, having read nothing, where the set takes the
 * tensor only whole.
 */
export async function prepareChunked(
  w: Weight,
  ks: KernelSet,
  read: (start: number, length: number) => Promise<Uint8Array>,
): Promise<Uint8Array | undefined> {
  const load = ChunkedLoad.start(w, ks);
  if (!load) return undefined;
  const c = load.chunks;
  let next: Promise<Uint8Array> | undefined = read(c[0]![0], c[0]![1]);
  try {
    for (let i = 0; i < c.length; i++) {
      const bytes = await next!;
      next = i + 1 < c.length ? read(c[i + 1]![0], c[i + 1]![1]) : undefined;
      load.put(i, bytes);
    }
  } catch (e) {
    void next?.catch(() => {}); // the read in flight is abandoned with the load
    throw e;
  }
  return load.finish();
}

/** prepareChunked with synchronous reads. */
export function prepareChunkedSync(
  w: Weight,
  ks: KernelSet,
  read: (start: number, length: number) => Uint8Array,
): Uint8Array | undefined {
  const load = ChunkedLoad.start(w, ks);
  if (!load) return undefined;
  load.chunks.forEach(([start, length], i) => load.put(i, read(start, length)));
  return load.finish();
}

/** Bytes a matrix will occupy once prepared (for refusing models before allocating). */
export type PreparedSize = (type: GGMLType, rows: number, cols: number) => number | undefined;

/**
 * Looks up tensors by GGUF name and checks shapes against what the config implies. With a
 * KernelSet, each matrix is read, prepared (repacked into the set's memory) and its file bytes
 * dropped before the next one is read, so peak memory stays near file size; names listed in
 * `keep` (token_embd: its rows are looked up) keep their bytes in our memory only.
 */
export class WeightBinder {
  private readonly used = new Set<string>();
  /**
   * Planning mode (`WeightBinder.planner`): nothing is read; matrix() records which tensors would
   * go into the KernelSet (with their dims) and returns empty placeholders, vector()/floats() zeros.
   */
  readonly planned: Map<string, number[]> | undefined;
  /**
   * Matrices left in the file (experts on demand, expert-cache.ts): matrix() checks their shape and
   * returns a placeholder without bytes; nothing is read or prepared.
   */
  deferred: ReadonlySet<string> = new Set();
  constructor(
    private readonly file: GGUFFile,
    private readonly ks?: KernelSet,
    private readonly keep: ReadonlySet<string> = new Set(),
    /** Matrices already read and prepared into `ks` (streamed loading), returned as they are. */
    private readonly prepared?: ReadonlyMap<string, Weight>,
    plan = false,
    /** The set (shard) each matrix goes to (placement.ts kernelsFor); default `ks`. */
    private readonly kernelsOf?: (name: string) => KernelSet,
  ) {
    this.planned = plan ? new Map() : undefined;
  }

  /**
   * A binder that reads nothing: run bindWeights with it to learn, before any tensor byte is
   * read, which tensors become KernelSet matrices (`planned`: name -> ggml dims), and to have a
   * missing or mis-shaped tensor reported before a download of the weights starts.
   */
  static planner(
    file: GGUFFile,
    ks: KernelSet,
    keep: ReadonlySet<string>,
    deferred: ReadonlySet<string> = new Set(),
  ): WeightBinder {
    const b = new WeightBinder(file, ks, keep, undefined, true);
    b.deferred = deferred;
    return b;
  }

  has(name: string): boolean {
    return this.file.tensorByName(name) !== undefined;
  }

  private info(name: string): GGUFTensorInfo {
    const t = this.file.tensorByName(name);
    if (!t) throw new ModelError(`missing tensor '${name}'`, { file: this.file.path, field: name });
    this.used.add(name);
    return t;
  }

  private checkDims(t: GGUFTensorInfo, want: number[]): void {
    const got = t.dims.slice();
    while (got.length > want.length && got[got.length - 1] === 1) got.pop();
    while (got.length < want.length) got.push(1);
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
      throw new ModelError(`tensor '${t.name}' has shape [${t.dims}], expected [${want}]`, {
        file: this.file.path,
        field: t.name,
      });
    }
  }

  /** A matrix weight with ggml dims `want` ([cols, rows] or [cols, rows, nExperts]). */
  matrix(name: string, want: number[]): Weight {
    const t = this.info(name);
    this.checkDims(t, want);
    if (this.deferred.has(name)) return makeWeight(name, t.type, want, new Uint8Array(0));
    if (this.planned) {
      if (this.ks?.supports(t.type) && !this.keep.has(name)) this.planned.set(name, want);
      return makeWeight(name, t.type, want, new Uint8Array(0));
    }
    const ready = this.prepared?.get(name);
    if (ready) return ready;
    if (this.ks && !this.keep.has(name)) {
      // into the set in row chunks: no whole-tensor copy in JavaScript
      const w = makeWeight(name, t.type, want, new Uint8Array(0));
      const ks = this.kernelsOf?.(name) ?? this.ks;
      if (prepareChunkedSync(w, ks, (start, length) => this.file.readTensorRangeSync(t, start, length)))
        return w;
    }
    const w = makeWeight(name, t.type, want, this.file.readTensorSync(t));
    if (this.ks && !this.keep.has(name)) prepareInto(w, this.kernelsOf?.(name) ?? this.ks);
    return w;
  }

  optMatrix(name: string, want: number[]): Weight | undefined {
    return this.has(name) ? this.matrix(name, want) : undefined;
  }

  /** A 1-D tensor (norm weight, bias, rope factors) decoded to F32: these are small. */
  vector(name: string, n: number): Float32Array {
    const t = this.info(name);
    this.checkDims(t, [n]);
    const out = new Float32Array(n);
    if (this.planned) return out;
    dequantizeRowAny(t.type, this.file.readTensorSync(t), 0, out, 0, n, name);
    return out;
  }

  /** A small tensor of any rank (ggml dims `want`) as floats, e.g. a conv kernel [width, channels]. */
  floats(name: string, want: number[]): Float32Array {
    const t = this.info(name);
    this.checkDims(t, want);
    const n = want.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    if (this.planned) return out;
    dequantizeRowAny(t.type, this.file.readTensorSync(t), 0, out, 0, n, name);
    return out;
  }

  optVector(name: string, n: number): Float32Array | undefined {
    return this.has(name) ? this.vector(name, n) : undefined;
  }

  /** Tensors in the file that no binding asked for (reported, e.g. by inspect). */
  unused(): string[] {
    return this.file.tensors.map((t) => t.name).filter((n) => !this.used.has(n));
  }
}
