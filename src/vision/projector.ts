/**
 * Projectors: encoder hidden states -> embeddings in the language model's input space.
 *
 * "mlp" (LLaVA-1.5/1.6, granite): the patch rows [nPatch][E'] are picked from the hidden states
 * (rows 1..nPatch when a class embedding exists, else 0..nPatch-1, as llama.cpp's "patches"
 * input; with llama.cpp's class-token-last order that drops patch 0 and keeps the class row, see
 * encoder.ts), then mm.0 -> GELU -> mm.2:  [nPatch][E'] -> [nPatch][H] -> [nPatch][D].
 *
 * "gemma3" (tools/mtmd/models/siglip.cpp): the side x side patch grid is average-pooled in
 * k x k squares (k = nMerge; ggml_pool_2d: f32 sum, ky outer, kx inner, then / k^2), giving
 * (side / k)^2 tokens in row-major order; each is RMS-normalized (ggml_rms_norm: sum of squares
 * in double, scale 1 / sqrtf(mean + eps) in float) times mm.soft_emb_norm, then multiplied by the
 * input projection: [n][E] -> [n][D].
 */
import { patchGrid, type VisionConfig } from "./mmproj.js";
import { type EncoderOutput, linear } from "./encoder.js";
import { activate } from "./ops.js";
import { matmul } from "../model/blocks/linear.js";

const f = Math.fround;
import type { VisionWeights } from "./weights.js";

export interface ImageEmbeddings {
  /** [nTokens][nEmbd], row-major. */
  data: Float32Array;
  nTokens: number;
  nEmbd: number;
  /** Text put around the rows in the prompt (gemma3: <start_of_image> ... <end_of_image>). */
  begin?: string;
  end?: string;
  /** The rows attend to each other bidirectionally in the language model (gemma3). */
  nonCausal?: boolean;
}

export function project(c: VisionConfig, w: VisionWeights, enc: EncoderOutput): ImageEmbeddings {
  return c.projector === "gemma3" ? projectGemma3(c, w, enc) : projectMlp(c, w, enc);
}

export function projectMlp(c: VisionConfig, w: VisionWeights, enc: EncoderOutput): ImageEmbeddings {
  if (w.proj.kind !== "mlp") throw new Error("projectMlp: not an mlp projector");
  const { mm0, mm2 } = w.proj;
  const { n: nPatch } = patchGrid(c);
  const off = w.classEmbd ? 1 : 0;
  const rows = enc.hidden.subarray(off * enc.width, (off + nPatch) * enc.width);
  const H = mm0.w.rows;
  const D = mm2.w.rows;
  const h = new Float32Array(nPatch * H);
  linear(mm0, rows, nPatch, h);
  activate("gelu", h);
  const out = new Float32Array(nPatch * D);
  linear(mm2, h, nPatch, out);
  return { data: out, nTokens: nPatch, nEmbd: D };
}

/** Average pooling of k x k patches of a side x side grid of E-wide rows, as ggml_pool_2d. */
export function avgPoolPatches(x: Float32Array, side: number, E: number, k: number): Float32Array {
  const ps = side / k;
  const out = new Float32Array(ps * ps * E);
  const ka = k * k;
  for (let e = 0; e < E; e++)
    for (let oy = 0; oy < ps; oy++)
      for (let ox = 0; ox < ps; ox++) {
        let res = 0;
        for (let ky = 0; ky < k; ky++)
          for (let kx = 0; kx < k; kx++) res = f(res + x[((oy * k + ky) * side + ox * k + kx) * E + e]!);
        out[(oy * ps + ox) * E + e] = f(res / ka);
      }
  return out;
}

function projectGemma3(c: VisionConfig, w: VisionWeights, enc: EncoderOutput): ImageEmbeddings {
  if (w.proj.kind !== "gemma3") throw new Error("projectGemma3: not a gemma3 projector");
  const { softEmbNorm, inputProj } = w.proj;
  const E = enc.width;
  const { side } = patchGrid(c);
  const x = avgPoolPatches(enc.hidden, side, E, c.nMerge);
  const n = x.length / E;
  const feps = f(c.eps);
  for (let t = 0; t < n; t++) {
    const o = t * E;
    let sum = 0;
    for (let i = 0; i < E; i++) sum += f(x[o + i]! * x[o + i]!);
    const scale = f(1 / f(Math.sqrt(f(f(sum / E) + feps))));
    for (let i = 0; i < E; i++) x[o + i] = f(f(x[o + i]! * scale) * softEmbNorm[i]!);
  }
  const D = inputProj.rows;
  const out = new Float32Array(n * D);
  matmul(inputProj, x, n, out);
  // mtmd.cpp: gemma3 images are wrapped in these texts and decoded with causal attention off.
  return {
    data: out,
    nTokens: n,
    nEmbd: D,
    begin: "<start_of_image>",
    end: "<end_of_image>",
    nonCausal: true,
  };
}

/** Image tokens the projector emits for one image. */
export function outputTokens(c: VisionConfig): number {
  return c.projector === "gemma3" ? (patchGrid(c).side / c.nMerge) ** 2 : patchGrid(c).n;
}
