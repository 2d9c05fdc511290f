/** The Weight type: one matrix as the forward pass reads it (bound from GGUF in weights.ts). */
import type { GGMLType } from "../gguf/types.js";
import type { KernelSet, PreparedWeight } from "../kernels/kernel-set.js";

/**
 * A matrix (or a stack of matrices, for experts) in ggml layout: `cols` = ne[0] is the contiguous
 * input dimension, `rows` = ne[1] outputs, `nMat` = ne[2] experts. y[r] = sum_c W[r, c] x[c].
 */
export interface Weight {
  name: string;
  type: GGMLType;
  rows: number;
  cols: number;
  nMat: number;
  /** Bytes of one row. */
  rowBytes: number;
  data: Uint8Array;
  /** Float32 view of `data` for F32 weights (no copy). */
  f32: Float32Array | undefined;
  /** Set when the matrix lives in a KernelSet (WASM): products go there. */
  kernel?: { ks: KernelSet; pw: PreparedWeight };
  /** Stacked weights (experts, MLA per-head k_b/v_b) prepared one matrix per handle. */
  mats?: Weight[];
}
