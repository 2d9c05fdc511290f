/**
 * Hadamard rotation of quantized K/V rows, as llama.cpp applies it (src/llama-kv-cache.cpp
 * attn_rot_k / attn_rot_v, src/llama-graph.cpp build_attn): a block quantizer's error scales with
 * the largest value of its 32-block, and one outlier channel of a head makes every other value of
 * its block coarse. Multiplying each head by an orthonormal Walsh-Hadamard matrix H (H = H^T,
 * H H = I) spreads every channel over the whole block first, so the quantization error is spread
 * too. Exact arithmetic is unchanged: scores use (Hq).(Hk) = q.k, and the attention output
 * sum_j p_j (H v_j) = H (sum_j p_j v_j) is rotated back by H.
 *
 * When (llama.cpp's rule, decided once per cache):
 *  - K rows when the K cache is quantized and head_dim_k % 64 == 0; block size nrot = the largest
 *    power of two >= 64 dividing head_dim_k (64 for 64 or 192, 128 for 128, 256 for 256). q is
 *    rotated with the same H (after RoPE, q/k norms and any q scaling), so the scores keep.
 *  - V rows when the V cache is quantized and head_dim_v % 64 == 0, always in blocks of 64; the
 *    attention output is rotated back before wo (and before a gated-attention gate).
 *  - never for an MLA latent cache (llama.cpp's K-only cache has no rotation).
 * llama.cpp's env LLAMA_ATTN_ROT_DISABLE=1 turns it off there; `rotate: false` does it here.
 *
 * A RoPE shift of rotated K rows must rotate back first (RoPE mixes channel pairs, not blocks):
 * dequantize, H, RoPE, H, quantize (llama.cpp's build_rope_shift does the same).
 *
 * The transform runs in ggml's order (ggml_compute_forward_fwht, the CPU path of the matmul that
 * carries GGML_HINT_SRC0_IS_HADAMARD): x * (1/sqrtf(n)) per value first, then butterflies
 * (u, v) -> (u + v, u - v) with spans 1, 2, 4 ... n/2, each rounded to f32, so rows quantize to
 * the same bytes as the reference's.
 */
import { isQuantizedKV, type KVType } from "./quant-kv.js";

const f = Math.fround;

/** Hadamard block sizes of a cache's stored rows: 0 = rows stored as computed. */
export interface KVRotation {
  rotK: number;
  rotV: number;
}

/** llama.cpp's choice of rotations for K/V types and head sizes (see the header). */
export function kvRotation(
  kType: KVType,
  vType: KVType,
  headDimK: number,
  headDimV: number,
  opts: { mla?: boolean; rotate?: boolean } = {},
): KVRotation {
  if (opts.mla || opts.rotate === false) return { rotK: 0, rotV: 0 };
  let rotK = 0;
  if (isQuantizedKV(kType) && headDimK > 0 && headDimK % 64 === 0) {
    rotK = 64;
    while (headDimK % (rotK * 2) === 0) rotK *= 2;
  }
  const rotV = isQuantizedKV(vType) && headDimV > 0 && headDimV % 64 === 0 ? 64 : 0;
  return { rotK, rotV };
}

/**
 * In place: x[off .. off + len) as consecutive blocks of `n` values (n a power of two, len a
 * multiple of n), each replaced by H_n times itself. H_n is its own inverse, so the same call
 * rotates back.
 */
export function hadamardRows(x: Float32Array, off: number, len: number, n: number): void {
  const scale = f(1 / f(Math.sqrt(n)));
  for (let b = off; b < off + len; b += n) {
    for (let j = b; j < b + n; j++) x[j] = f(x[j] * scale);
    for (let span = 1; span < n; span <<= 1) {
      for (let i = b; i < b + n; i += 2 * span) {
        for (let j = i; j < i + span; j++) {
          const u = x[j];
          const v = x[j + span];
          x[j] = f(u + v);
          x[j + span] = f(u - v);
        }
      }
    }
  }
}
