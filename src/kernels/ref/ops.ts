/**
 * Element-wise and attention ops in plain TypeScript, with ggml's semantics (float32 results).
 * Used by the ref KernelSet, and by the WASM KernelSet directly on views of its memory until
 * SIMD versions of these (cheap, O(n)) ops land. Shapes are row-major; "rows" are tokens.
 */
import type { PagedKV, RopeOptions } from "../kernel-set.js";

export type { RopeOptions };
import { loadRow, quantizeRowQ8_0Avx } from "../../quant/kv-rows.js";
import { dequantizeRowQ8_0 } from "../../quant/q8_0.js";

const fr = Math.fround;

/** out[r][i] = x[r][i] / sqrt(mean_i(x[r]^2) + eps) * weight[i]; x, out: [nRows][n]. */
export function rmsNorm(
  x: Float32Array,
  weight: Float32Array,
  out: Float32Array,
  n: number,
  nRows: number,
  eps: number,
): void {
  for (let r = 0; r < nRows; r++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[r * n + i]! * x[r * n + i]!;
    const scale = fr(1 / Math.sqrt(fr(ss / n) + eps));
    for (let i = 0; i < n; i++) out[r * n + i] = fr(x[r * n + i]! * scale) * weight[i]!;
  }
}

/** In-place softmax over each of nRows rows of n. */
export function softmax(x: Float32Array, n: number, nRows: number): void {
  for (let r = 0; r < nRows; r++) {
    const o = r * n;
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, x[o + i]!);
    let s = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp(x[o + i]! - m);
      x[o + i] = e;
      s += e;
    }
    for (let i = 0; i < n; i++) x[o + i] = x[o + i]! / s;
  }
}

/** out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + e^-g). */
export function siluMul(gate: Float32Array, up: Float32Array, out: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i]!;
    out[i] = fr(g / (1 + Math.exp(-g))) * up[i]!;
  }
}

/** out[i] = a[i] + b[i]. */
export function add(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
}

/**
 * In-place rotary embedding of x: [nTokens][nHeads][headDim], token t at position pos0 + t.
 * Angle of pair i: pos * base^(-2i/nRot), computed as ggml does (float32, iterated product).
 */
export function rope(
  x: Float32Array,
  nTokens: number,
  nHeads: number,
  headDim: number,
  pos0: number,
  o: RopeOptions,
): void {
  const nRot = o.nRot ?? headDim;
  const half = nRot / 2;
  const thetaScale = fr(Math.pow(o.theta, -2 / nRot));
  const cos = new Float32Array(half);
  const sin = new Float32Array(half);
  for (let t = 0; t < nTokens; t++) {
    let th = fr(pos0 + t);
    for (let i = 0; i < half; i++) {
      const a = fr(th * (o.freqScale ?? 1));
      cos[i] = Math.cos(a);
      sin[i] = Math.sin(a);
      th = fr(th * thetaScale);
    }
    for (let h = 0; h < nHeads; h++) {
      const b = (t * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const i0 = o.neox ? b + i : b + 2 * i;
        const i1 = o.neox ? b + i + half : b + 2 * i + 1;
        const x0 = x[i0]!;
        const x1 = x[i1]!;
        x[i0] = fr(x0 * cos[i]!) - fr(x1 * sin[i]!);
        x[i1] = fr(x0 * sin[i]!) + fr(x1 * cos[i]!);
      }
    }
  }
}

/**
 * Causal multi-/grouped-query attention with f32 accumulation.
 *   q: [nTokens][nHead][hd], token t at position pos0 + t, sees cache positions 0..pos0+t
 *   k, v: [nKV][nHeadKV][hd] (the KV cache, already holding the new tokens)
 *   out: [nTokens][nHead][hd]; head h reads kv head floor(h / (nHead / nHeadKV)).
 * Decode is nTokens = 1, pos0 = nKV - 1.
 */
export function attention(
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
  const group = nHead / nHeadKV;
  const kvStride = nHeadKV * hd;
  const s = new Float32Array(nKV);
  for (let t = 0; t < nTokens; t++) {
    const last = Math.min(nKV - 1, pos0 + t);
    for (let h = 0; h < nHead; h++) {
      const qo = (t * nHead + h) * hd;
      const ko = Math.floor(h / group) * hd;
      let m = -Infinity;
      for (let j = 0; j <= last; j++) {
        let d = 0;
        for (let i = 0; i < hd; i++) d += q[qo + i]! * k[j * kvStride + ko + i]!;
        s[j] = d * scale;
        m = Math.max(m, s[j]!);
      }
      let sum = 0;
      for (let j = 0; j <= last; j++) {
        s[j] = Math.exp(s[j]! - m);
        sum += s[j]!;
      }
      for (let i = 0; i < hd; i++) {
        let acc = 0;
        for (let j = 0; j <= last; j++) acc += s[j]! * v[j * kvStride + ko + i]!;
        out[qo + i] = acc / sum;
      }
    }
  }
}

/**
 * attention() on a paged cache (see KernelSet's PagedKV): position j is row
 * table[j / blockSize] * blockSize + j % blockSize; f16 rows are widened exactly. Token t sees
 * positions max(0, pos0 + t - window + 1) .. pos0 + t (window 0 = unlimited).
 */
export function attentionPaged(
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
  const group = nHead / nHeadKV;
  const W = nHeadKV * hd;
  const B = kv.blockSize;
  const kt = kv.kType ?? (kv.half ? "f16" : "f32");
  const vt = kv.vType ?? (kv.half ? "f16" : "f32");
  // Rows widened/dequantized once per call (reference speed is not the point here).
  const K = new Float32Array(nKV * W);
  const V = new Float32Array(nKV * W);
  for (let j = 0; j < nKV; j++) {
    const row = kv.table[Math.floor(j / B)]! * B + (j % B);
    loadRow(kt, kv.k, row, W, 0, K, j * W, W);
    loadRow(vt, kv.v, row, W, 0, V, j * W, W);
  }
  const s = new Float32Array(nKV);
  if (kt === "q8_0" || kt === "q4_0") {
    // ggml's flash attention quantizes q to Q8_0 (the K type's vec_dot partner) before K.q.
    const qb = new Uint8Array((q.length / 32) * 34);
    const qd = new Float32Array(nTokens * nHead * hd);
    quantizeRowQ8_0Avx(q, 0, qb, 0, qd.length);
    dequantizeRowQ8_0(qb, 0, qd, 0, qd.length);
    q = qd;
  }
  for (let t = 0; t < nTokens; t++) {
    const last = Math.min(nKV - 1, pos0 + t);
    const first = window > 0 ? Math.max(0, pos0 + t - window + 1) : 0;
    for (let h = 0; h < nHead; h++) {
      const qo = (t * nHead + h) * hd;
      const ko = Math.floor(h / group) * hd;
      let m = -Infinity;
      for (let j = first; j <= last; j++) {
        let d = 0;
        for (let i = 0; i < hd; i++) d += q[qo + i]! * K[j * W + ko + i]!;
        s[j] = d * scale;
        m = Math.max(m, s[j]!);
      }
      // A sink logit (gpt-oss) joins the max and the sum, with no value row.
      const sink = sinks?.[h];
      if (sink !== undefined) m = Math.max(m, sink);
      let sum = sink !== undefined ? Math.exp(sink - m) : 0;
      for (let j = first; j <= last; j++) {
        s[j] = Math.exp(s[j]! - m);
        sum += s[j]!;
      }
      for (let i = 0; i < hd; i++) {
        let acc = 0;
        for (let j = first; j <= last; j++) acc += s[j]! * V[j * W + ko + i]!;
        out[qo + i] = acc / sum;
      }
    }
  }
}
