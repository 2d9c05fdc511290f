/**
 * REFERENCE ONLY (see index.ts): attention as llama.cpp's non-flash graph runs it on ggml's AVX2
 * CPU backend, including the KV length padded to 32.
 */
import { attend, softcap, type AttnShape } from "../../blocks/attention.js";
import type { KVCache } from "../../../kv/cache.js";
import { dotGgml, softmaxExpGgml } from "./dot.js";

const f = Math.fround;
/** llama.cpp pads the number of KV cells a graph attends over (n_kv) to a multiple of 32. */
const KV_PAD = 32;

/**
 * The same attention with every sum in ggml's float32 order (see dot.ts), as llama.cpp's
 * non-flash graph runs it: KQ = mul_mat(K, q) per head (F16 cache: q rounded to half, contiguous
 * copy -> tinyBLAS for 2+ tokens; F32 cache: q is a permuted view -> vec_dot), softmax in float
 * with a double sum, then KQV = mul_mat(V^T, P) over all nKv cached positions (masked ones are
 * zeros; F16 cache: P rounded to half). Results are bit-identical across cache types' layouts.
 */
export function attendGgml(
  s: AttnShape,
  cache: KVCache,
  layer: number,
  q: Float32Array,
  nTok: number,
  pos0: number,
  out: Float32Array,
): void {
  if (!cache.readRow) {
    attend(s, cache, layer, q, nTok, pos0, out);
    return;
  }
  const group = s.nHead / s.nHeadKV;
  const qStride = s.nHead * s.headDimK;
  const oStride = s.nHead * s.headDimV;
  // llama.cpp pads the number of KV cells it attends over (n_kv) to a multiple of 32; the padding
  // cells are masked (-inf -> 0) but decide which lanes and blocks the sums use.
  const nKv = Math.ceil((pos0 + nTok) / KV_PAD) * KV_PAD;
  const half = cache.shape.dtype === "f16";
  // Per KV head: K rows [nKv][headDimK] and V transposed [headDimV][nKv].
  const K = new Float32Array(nKv * s.headDimK);
  const Vt = new Float32Array(s.headDimV * nKv);
  const vRow = new Float32Array(s.headDimV);
  const qh = new Float32Array(s.headDimK);
  const p = new Float32Array(nKv);
  for (let kvh = 0; kvh < s.nHeadKV; kvh++) {
    for (let j = 0; j < pos0 + nTok; j++) {
      cache.readRow!("k", layer, j, kvh * s.headDimK, K, j * s.headDimK, s.headDimK);
      cache.readRow!("v", layer, j, kvh * s.headDimV, vRow, 0, s.headDimV);
      for (let d = 0; d < s.headDimV; d++) Vt[d * nKv + j] = vRow[d];
    }
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      for (let t = 0; t < nTok; t++) {
        const pos = pos0 + t;
        const lo = s.slidingWindow > 0 ? Math.max(0, pos - s.slidingWindow + 1) : 0;
        qh.set(q.subarray(t * qStride + h * s.headDimK, t * qStride + (h + 1) * s.headDimK));
        cache.roundInput(qh, 0, s.headDimK);
        // Softmax over the whole KV row as ggml does (masked positions are -inf -> 0).
        p.fill(-Infinity);
        let max = -Infinity;
        for (let j = lo; j <= pos; j++) {
          let d = f(dotGgml(K, j * s.headDimK, qh, 0, s.headDimK, nTok, half, half));
          if (s.softcap) d = softcap(d, s.softcap);
          const v = f(d * s.scale);
          p[j] = v;
          if (v > max) max = v;
        }
        // Sinks (gpt-oss): the max and the sum include the head's sink logit (ggml soft_max's src2).
        const sink = s.sinks?.[h];
        if (sink !== undefined && sink > max) max = sink;
        let sum = softmaxExpGgml(p, nKv, max);
        if (sink !== undefined) sum += f(Math.exp(f(sink - max)));
        const inv = f(1 / sum);
        for (let j = 0; j < nKv; j++) p[j] = f(p[j] * inv);
        cache.roundInput(p, lo, pos - lo + 1);
        const oo = t * oStride + h * s.headDimV;
        for (let d = 0; d < s.headDimV; d++) out[oo + d] = dotGgml(Vt, d * nKv, p, 0, nKv, nTok, half, true);
      }
    }
  }
}
