/**
 * The element-wise and attention part of KernelSet: argument checks (shared by every set) and a
 * TypeScript implementation (ref/ops.ts) of each op in a protected `run*` method. The ref set
 * uses these as they are; the WASM set overrides the run methods it has SIMD kernels for
 * (siluMul, add, rmsNorm, softmax, ropeAngles, attention, matmulMany, normMatmul) and keeps
 * rope with options (angles computed per call) here.
 */
import { KernelError } from "../errors.js";
import { isQuantizedKV, kvRowElems } from "../quant/kv-rows.js";
import { checkVec } from "./shape-checks.js";
import * as ops from "./ref/ops.js";
import type { RopeOptions } from "./ref/ops.js";
import type { LowRankDelta, MatmulItem, PagedKV, PreparedWeight } from "./kernel-set.js";

export type { RopeOptions };

function pos(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new KernelError(`${name} must be a positive integer, got ${v}`);
}

/** The checks attention and attentionPaged share: positive sizes (and the paged cache's block
 *  size), whole GQA groups, every token's position inside the cache, a finite scale. */
function checkAttention(
  nTokens: number,
  nKV: number,
  nHead: number,
  nHeadKV: number,
  hd: number,
  pos0: number,
  scale: number,
  blockSize?: number,
): void {
  for (const [n, x] of [
    ["nTokens", nTokens],
    ["nKV", nKV],
    ["nHead", nHead],
    ["nHeadKV", nHeadKV],
    ["hd", hd],
  ] as const)
    pos(n, x);
  if (blockSize !== undefined) pos("blockSize", blockSize);
  if (nHead % nHeadKV !== 0)
    throw new KernelError(`attention: ${nHead} heads is not a multiple of ${nHeadKV} KV heads`);
  if (!Number.isInteger(pos0) || pos0 < 0 || pos0 + nTokens > nKV) {
    throw new KernelError(
      `attention: tokens at ${pos0}..${pos0 + nTokens - 1} are not all in the ${nKV}-entry cache`,
    );
  }
  if (!Number.isFinite(scale)) throw new KernelError(`attention: scale must be finite, got ${scale}`);
}

export abstract class TsOps {
  abstract matmul(w: PreparedWeight, X: Float32Array, nTokens: number, Y: Float32Array): void;
  abstract alloc(n: number): Float32Array;

  /**
   * Ys[i][nTokens][ws[i].rows] = X[nTokens][cols] . ws[i]^T for every i: several weights with
   * the same input width (Q/K/V, gate/up). The reference runs the products one by one; the
   * WASM set prepares the input once per activation format and runs all of them in one
   * dispatch. Each Ys[i] gets the same bits as matmul(ws[i], X, nTokens, Ys[i]). `deltas`:
   * low-rank additions (KernelSet.matmulMany).
   */
  matmulMany(
    ws: readonly PreparedWeight[],
    X: Float32Array,
    nTokens: number,
    Ys: readonly Float32Array[],
    deltas?: readonly LowRankDelta[],
  ): void {
    this.checkMany(ws, X, nTokens, Ys);
    const d = this.checkDeltas(ws, deltas);
    this.runMatmulMany(ws, X, nTokens, Ys, d);
  }

  /**
   * Independent products, each its own input (see KernelSet.matmulBatch). The reference runs
   * them one by one; the WASM set in one dispatch (or on the calling thread when small).
   */
  matmulBatch(items: readonly MatmulItem[]): void {
    items.forEach((it, i) => {
      pos(`items[${i}].nTokens`, it.nTokens);
      checkVec(`items[${i}].X`, it.X, it.nTokens * it.w.cols);
      checkVec(`items[${i}].Y`, it.Y, it.nTokens * it.w.rows);
    });
    if (items.length) this.runMatmulBatch(items);
  }

  /**
   * RMSNorm fused with the products of its output: h = rmsNorm(x, weight, eps) row by row
   * (x [nTokens][cols], cols = ws[i].cols), then Ys[i] = h . ws[i]^T as matmulMany. `normOut`
   * [nTokens][cols], if given, receives h. Same bits as rmsNorm then matmulMany; the WASM set
   * quantizes each normalized row while it is in cache (one dispatch, one barrier for both).
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
  ): void {
    this.checkMany(ws, x, nTokens, Ys);
    const cols = ws[0]!.cols;
    checkVec("weight", weight, cols);
    if (normOut) checkVec("normOut", normOut, nTokens * cols);
    if (!(eps >= 0)) throw new KernelError(`normMatmul: eps must be >= 0, got ${eps}`);
    const d = this.checkDeltas(ws, deltas);
    this.runNormMatmul(x, weight, eps, ws, nTokens, Ys, normOut, d);
  }

  /** Deltas that fit the call's weights (none: undefined). */
  private checkDeltas(
    ws: readonly PreparedWeight[],
    deltas: readonly LowRankDelta[] | undefined,
  ): readonly LowRankDelta[] | undefined {
    if (!deltas || deltas.length === 0) return undefined;
    const cols = ws[0]!.cols;
    deltas.forEach((d, i) => {
      const w = ws[d.out];
      if (!Number.isInteger(d.out) || !w) throw new KernelError(`deltas[${i}].out ${d.out} names no output`);
      if (d.a.cols !== cols || d.b.rows !== w.rows || d.b.cols !== d.a.rows)
        throw new KernelError(
          `deltas[${i}]: a [${d.a.rows}x${d.a.cols}] and b [${d.b.rows}x${d.b.cols}] do not fit a ${w.rows}x${cols} product`,
        );
      if (!Number.isFinite(d.scale))
        throw new KernelError(`deltas[${i}].scale must be finite, got ${d.scale}`);
    });
    return deltas;
  }

  private checkMany(
    ws: readonly PreparedWeight[],
    X: Float32Array,
    nTokens: number,
    Ys: readonly Float32Array[],
  ): void {
    pos("nTokens", nTokens);
    if (ws.length < 1 || ws.length !== Ys.length)
      throw new KernelError(`matmulMany: ${ws.length} weights for ${Ys.length} outputs`);
    const cols = ws[0]!.cols;
    for (const w of ws)
      if (w.cols !== cols)
        throw new KernelError(`matmulMany: weights of ${w.cols} and ${cols} columns share one input`);
    checkVec("X", X, nTokens * cols);
    ws.forEach((w, i) => checkVec(`Ys[${i}]`, Ys[i]!, nTokens * w.rows));
  }

  protected runMatmulMany(
    ws: readonly PreparedWeight[],
    X: Float32Array,
    nTokens: number,
    Ys: readonly Float32Array[],
    deltas?: readonly LowRankDelta[],
  ): void {
    ws.forEach((w, i) => this.matmul(w, X, nTokens, Ys[i]!));
    if (deltas) this.addDeltas(X, nTokens, Ys, deltas);
  }

  /** Ys[d.out] += d.scale * B (A X) per delta in order, each product apart (the reference). */
  protected addDeltas(
    X: Float32Array,
    nTokens: number,
    Ys: readonly Float32Array[],
    deltas: readonly LowRankDelta[],
  ): void {
    for (const d of deltas) {
      const ax = new Float32Array(nTokens * d.a.rows);
      const R = d.b.rows;
      const bax = new Float32Array(nTokens * R);
      this.matmul(d.a, X, nTokens, ax);
      this.matmul(d.b, ax, nTokens, bax);
      const y = Ys[d.out]!;
      const s = d.scale;
      for (let j = 0; j < nTokens * R; j++) y[j] = Math.fround(y[j]! + Math.fround(bax[j]! * s));
    }
  }

  protected runMatmulBatch(items: readonly MatmulItem[]): void {
    for (const it of items) this.matmul(it.w, it.X, it.nTokens, it.Y);
  }

  protected runNormMatmul(
    x: Float32Array,
    weight: Float32Array,
    eps: number,
    ws: readonly PreparedWeight[],
    nTokens: number,
    Ys: readonly Float32Array[],
    normOut: Float32Array | undefined,
    deltas?: readonly LowRankDelta[],
  ): void {
    const cols = ws[0]!.cols;
    const h = normOut ?? new Float32Array(nTokens * cols);
    this.rmsNorm(x, weight, h, cols, nTokens, eps);
    this.runMatmulMany(ws, h, nTokens, Ys, deltas);
  }

  /** out[r] = x[r] / rms(x[r]) * weight; x, out: [nRows][n]. */
  rmsNorm(x: Float32Array, weight: Float32Array, out: Float32Array, n: number, nRows = 1, eps = 1e-6): void {
    pos("n", n);
    pos("nRows", nRows);
    checkVec("x", x, n * nRows);
    checkVec("weight", weight, n);
    checkVec("out", out, n * nRows);
    if (!(eps >= 0)) throw new KernelError(`rmsNorm: eps must be >= 0, got ${eps}`);
    this.runRmsNorm(x, weight, out, n, nRows, eps);
  }

  /** In-place softmax of each row: x [nRows][n]. */
  softmax(x: Float32Array, n: number, nRows = 1): void {
    pos("n", n);
    pos("nRows", nRows);
    checkVec("x", x, n * nRows);
    this.runSoftmax(x, n, nRows);
  }

  /** out = silu(gate) * up (SwiGLU), n elements. */
  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array, n: number): void {
    pos("n", n);
    checkVec("gate", gate, n);
    checkVec("up", up, n);
    checkVec("out", out, n);
    this.runSiluMul(gate, up, out, n);
  }

  /** out = a + b, n elements (out may alias a or b). */
  add(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    pos("n", n);
    checkVec("a", a, n);
    checkVec("b", b, n);
    checkVec("out", out, n);
    this.runAdd(a, b, out, n);
  }

  /** In-place RoPE of x [nTokens][nHeads][headDim] at positions pos0.. (normal or NeoX). */
  rope(
    x: Float32Array,
    nTokens: number,
    nHeads: number,
    headDim: number,
    pos0: number,
    o: RopeOptions,
  ): void {
    pos("nTokens", nTokens);
    pos("nHeads", nHeads);
    pos("headDim", headDim);
    const nRot = o.nRot ?? headDim;
    if (nRot % 2 !== 0 || nRot > headDim || nRot < 2)
      throw new KernelError(`rope: bad rotated dims ${nRot} for head size ${headDim}`);
    if (!Number.isInteger(pos0) || pos0 < 0) throw new KernelError(`rope: bad position ${pos0}`);
    checkVec("x", x, nTokens * nHeads * headDim);
    ops.rope(x, nTokens, nHeads, headDim, pos0, o);
  }

  /** In-place RoPE with precomputed angles cos/sin [nTokens][nRot/2] (see KernelSet.ropeAngles). */
  ropeAngles(
    x: Float32Array,
    nTokens: number,
    nHeads: number,
    headDim: number,
    nRot: number,
    cos: Float32Array,
    sin: Float32Array,
    neox: boolean,
  ): void {
    pos("nTokens", nTokens);
    pos("nHeads", nHeads);
    pos("headDim", headDim);
    if (!Number.isInteger(nRot) || nRot % 2 !== 0 || nRot > headDim || nRot < 2)
      throw new KernelError(`rope: bad rotated dims ${nRot} for head size ${headDim}`);
    checkVec("x", x, nTokens * nHeads * headDim);
    checkVec("cos", cos, (nTokens * nRot) / 2);
    checkVec("sin", sin, (nTokens * nRot) / 2);
    this.runRopeAngles(x, nTokens, nHeads, headDim, nRot, cos, sin, neox);
  }

  /**
   * Causal GQA attention: q [nTokens][nHead][hd] at positions pos0.., k/v caches [nKV][nHeadKV][hd],
   * out [nTokens][nHead][hd]. Decode: nTokens = 1, pos0 = nKV - 1.
   */
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
    scale = 1 / Math.sqrt(hd),
  ): void {
    checkAttention(nTokens, nKV, nHead, nHeadKV, hd, pos0, scale);
    checkVec("q", q, nTokens * nHead * hd);
    checkVec("k", k, nKV * nHeadKV * hd);
    checkVec("v", v, nKV * nHeadKV * hd);
    checkVec("out", out, nTokens * nHead * hd);
    this.runAttention(q, k, v, out, nTokens, nKV, nHead, nHeadKV, hd, pos0, scale);
  }

  /** Bidirectional attention over n rows (see KernelSet.attentionFull). */
  attentionFull(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    n: number,
    nHead: number,
    hd: number,
    scale = 1 / Math.sqrt(hd),
  ): void {
    for (const [name, x] of [
      ["n", n],
      ["nHead", nHead],
      ["hd", hd],
    ] as const)
      pos(name, x);
    if (!Number.isFinite(scale)) throw new KernelError(`attention: scale must be finite, got ${scale}`);
    for (const [name, a] of [
      ["q", q],
      ["k", k],
      ["v", v],
      ["out", out],
    ] as const)
      checkVec(name, a, n * nHead * hd);
    this.runAttentionFull(q, k, v, out, n, nHead, hd, scale);
  }

  /** Causal GQA attention on a paged f32/f16 cache read in place (see KernelSet.attentionPaged). */
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
    window = 0,
    sinks?: Float32Array,
    nonCausal = false,
  ): void {
    checkAttention(nTokens, nKV, nHead, nHeadKV, hd, pos0, scale, kv.blockSize);
    if (!(Number.isInteger(window) && window >= 0)) throw new KernelError(`attention: bad window ${window}`);
    if (sinks !== undefined && sinks.length < nHead)
      throw new KernelError(`attention: ${sinks.length} sink logits for ${nHead} heads`);
    const nBlk = Math.ceil(nKV / kv.blockSize);
    if (kv.table.length < nBlk)
      throw new KernelError(`attention: block table has ${kv.table.length} entries, needs ${nBlk}`);
    const kt = kv.kType ?? (kv.half ? "f16" : "f32");
    const vt = kv.vType ?? (kv.half ? "f16" : "f32");
    const rows = Math.min(
      kv.k.length / kvRowElems(kt, nHeadKV * hd),
      kv.v.length / kvRowElems(vt, nHeadKV * hd),
    );
    // Blocks wholly before the first query's window are never read (a windowed KV group gives
    // them back: -1 in the table).
    const firstRead = window > 0 ? Math.floor(Math.max(0, pos0 - window + 1) / kv.blockSize) : 0;
    for (let b = firstRead; b < nBlk; b++) {
      const id = kv.table[b];
      if (!(id >= 0 && (id + 1) * kv.blockSize <= rows))
        throw new KernelError(`attention: block ${id} outside the ${rows}-row cache`);
    }
    const arrayOf = { f32: Float32Array, f16: Uint16Array, q8_0: Uint8Array, q4_0: Uint8Array } as const;
    if (!(kv.k instanceof arrayOf[kt]) || !(kv.v instanceof arrayOf[vt]))
      throw new KernelError(`attention: K/V arrays do not match their types ${kt}/${vt}`);
    if ((isQuantizedKV(kt) || isQuantizedKV(vt)) && hd % 32 !== 0)
      throw new KernelError(`attention: quantized K/V need a head size that is a multiple of 32, got ${hd}`);
    checkVec("q", q, nTokens * nHead * hd);
    checkVec("out", out, nTokens * nHead * hd);
    if (nonCausal) {
      // Every token sees all nKV positions: the kernels clamp each token's last position to
      // nKV - 1, so placing them all at nKV - 1 does it; the window then must not cut anything.
      if (window > 0 && nKV > window)
        throw new KernelError(
          `attention: non-causal rows up to ${nKV} positions exceed the ${window}-token window`,
        );
      this.runAttentionPaged(q, kv, out, nTokens, nKV, nHead, nHeadKV, hd, nKV - 1, scale, 0, sinks);
      return;
    }
    this.runAttentionPaged(q, kv, out, nTokens, nKV, nHead, nHeadKV, hd, pos0, scale, window, sinks);
  }

  // Implementations, called with validated arguments.
  protected runSoftmax(x: Float32Array, n: number, nRows: number): void {
    ops.softmax(x, n, nRows);
  }

  /** Reference: model/blocks/rope.ts's expression (x0*c in float64 = the fused product, the
   *  other product rounded to f32, one rounding at the store). */
  protected runRopeAngles(
    x: Float32Array,
    nTokens: number,
    nHeads: number,
    headDim: number,
    nRot: number,
    cos: Float32Array,
    sin: Float32Array,
    neox: boolean,
  ): void {
    const half = nRot / 2;
    const f = Math.fround;
    for (let t = 0; t < nTokens; t++)
      for (let h = 0; h < nHeads; h++) {
        const b = (t * nHeads + h) * headDim;
        for (let i = 0; i < half; i++) {
          const i0 = neox ? b + i : b + 2 * i;
          const i1 = neox ? b + i + half : b + 2 * i + 1;
          const x0 = x[i0]!,
            x1 = x[i1]!,
            c = cos[t * half + i]!,
            s = sin[t * half + i]!;
          x[i0] = x0 * c - f(x1 * s);
          x[i1] = x0 * s + f(x1 * c);
        }
      }
  }
  protected runAttentionPaged(
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
    ops.attentionPaged(q, kv, out, nTokens, nKV, nHead, nHeadKV, hd, pos0, scale, window, sinks);
  }
  protected runRmsNorm(
    x: Float32Array,
    weight: Float32Array,
    out: Float32Array,
    n: number,
    nRows: number,
    eps: number,
  ): void {
    ops.rmsNorm(x, weight, out, n, nRows, eps);
  }
  protected runSiluMul(gate: Float32Array, up: Float32Array, out: Float32Array, n: number): void {
    ops.siluMul(gate, up, out, n);
  }
  protected runAdd(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    ops.add(a, b, out, n);
  }
  /** Reference: each query as a one-token step at the last of n positions, which sees all n. */
  protected runAttentionFull(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    n: number,
    nHead: number,
    hd: number,
    scale: number,
  ): void {
    const w = nHead * hd;
    for (let t = 0; t < n; t++)
      ops.attention(
        q.subarray(t * w, (t + 1) * w),
        k,
        v,
        out.subarray(t * w, (t + 1) * w),
        1,
        n,
        nHead,
        nHead,
        hd,
        n - 1,
        scale,
      );
  }
  protected runAttention(
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
    ops.attention(q, k, v, out, nTokens, nKV, nHead, nHeadKV, hd, pos0, scale);
  }
}
