/**
 * Projectors: encoder hidden states -> embeddings in the language model's input space.
 *
 * "mlp" (LLaVA-1.5/1.6, granite): the patch rows [nPatch][E'] are picked from the hidden states
 * (rows 1..nPatch when a class embedding exists, else 0..nPatch-1, as llama.cpp's "patches"
 * input; with llama.cpp's class-token-last order that drops patch 0 and keeps the class row, see
 * encoder.ts), then mm.0 -> GELU -> mm.2:  [nPatch][E'] -> [nPatch][H] -> [nPatch][D].
 */
import { patchGrid, type VisionConfig } from "./mmproj.js";
import { type EncoderOutput, linear } from "./encoder.js";
import { activate } from "./ops.js";
import type { VisionWeights } from "./weights.js";

export interface ImageEmbeddings {
  /** [nTokens][nEmbd], row-major. */
  data: Float32Array;
  nTokens: number;
  nEmbd: number;
}

export function projectMlp(c: VisionConfig, w: VisionWeights, enc: EncoderOutput): ImageEmbeddings {
  const { n: nPatch } = patchGrid(c);
  const off = w.classEmbd ? 1 : 0;
  const rows = enc.hidden.subarray(off * enc.width, (off + nPatch) * enc.width);
  const H = w.mm0.w.rows;
  const D = w.mm2.w.rows;
  const h = new Float32Array(nPatch * H);
  linear(w.mm0, rows, nPatch, h);
  activate("gelu", h);
  const out = new Float32Array(nPatch * D);
  linear(w.mm2, h, nPatch, out);
  return { data: out, nTokens: nPatch, nEmbd: D };
}

/** Image tokens the projector emits for one image. */
export function outputTokens(c: VisionConfig): number {
  return patchGrid(c).n;
}
