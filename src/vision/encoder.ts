/**
 * The ViT encoder (CLIP / SigLIP family, pre-norm blocks), as llama.cpp's clip graph for the
 * LLaVA-style projectors (tools/mtmd/models/llava.cpp) computes it:
 *
 *   pixels [3][S][S] (planar, normalized)
 *   -> patches: unfold P x P patches, row p = py * side + px, columns (c, ky, kx) [N][3 P P]
 *      . patch kernel^T (+ bias)                                          [N][E]
 *   -> with a class embedding, it is appended AFTER the patches (row N)    [n_pos][E]
 *   -> + position embedding row i on row i; pre-LayerNorm
 *   -> blocks 0 .. nRun-1:  x += Wo . attn(LN1(x)) ; x += down(act(up(LN2(x))))
 *      attention is bidirectional over all n_pos rows (KernelSet.attentionFull), scale 1/sqrt(head_dim)
 *   -> post-LayerNorm (if present)
 *   -> hidden states [n_pos][E * n_features]
 *
 * Gemma 3's SigLIP (tools/mtmd/models/siglip.cpp) is the same ViT without class token or
 * feature layers, running every block.
 * Which blocks run (llava graph): with clip.vision.feature_layer unset, all but the last (LLaVA's
 * vision_feature_layer = -2); otherwise up to the deepest listed layer, and the listed hidden
 * states (0 = the encoder input after pre-LN) are concatenated feature-wise.
 *
 * Two behaviours here are llama.cpp's, kept because llama.cpp is the reference these outputs are
 * tested against, though upstream reports call them defects: the class token placed after the
 * patches while position embeddings and the projector's row selection assume it first
 * (ggml-org/llama.cpp#25814), and the last stored block skipped on files whose converter already
 * dropped it (#25817). Both are confined to `appendClassToken` and `blocksToRun`.
 */
import type { KernelSet } from "../kernels/kernel-set.js";
import { matmul } from "../model/blocks/linear.js";
import { patchGrid, type VisionConfig } from "./mmproj.js";
import { activate, addInPlace, addRows, layerNorm } from "./ops.js";
import type { Linear, VisionLayer, VisionWeights } from "./weights.js";

export interface EncoderOutput {
  /** [nPos][width] hidden states handed to the projector. */
  hidden: Float32Array;
  nPos: number;
  width: number;
}

/** Number of encoder blocks llama.cpp runs: its siglip graph (gemma3) all; its llava graph see above. */
export function blocksToRun(c: VisionConfig): number {
  if (c.projector === "gemma3") return c.nLayer;
  return c.featureLayers.length > 0 ? Math.max(...c.featureLayers) : c.nLayer - 1;
}

/** out[t] = W x[t] + b for nTok rows. */
export function linear(l: Linear, x: Float32Array, nTok: number, out: Float32Array): void {
  matmul(l.w, x, nTok, out);
  addRows(out, l.b, l.w.rows, nTok);
}

/** Unfold a planar [3][S][S] image into patch rows [N][3 * P * P], columns (c, ky, kx). */
export function unfoldPatches(pixels: Float32Array, imageSize: number, patchSize: number): Float32Array {
  const S = imageSize;
  const P = patchSize;
  const side = S / P;
  const cols = 3 * P * P;
  const out = new Float32Array(side * side * cols);
  for (let py = 0; py < side; py++) {
    for (let px = 0; px < side; px++) {
      let o = (py * side + px) * cols;
      for (let c = 0; c < 3; c++) {
        for (let ky = 0; ky < P; ky++) {
          const src = c * S * S + (py * P + ky) * S + px * P;
          for (let kx = 0; kx < P; kx++) out[o++] = pixels[src + kx]!;
        }
      }
    }
  }
  return out;
}

/** Patch rows followed by the class token row (llama.cpp's order, see the header). */
function appendClassToken(patches: Float32Array, nPatch: number, E: number, cls: Float32Array): Float32Array {
  const x = new Float32Array((nPatch + 1) * E);
  x.set(patches.subarray(0, nPatch * E));
  x.set(cls, nPatch * E);
  return x;
}

function block(ks: KernelSet, c: VisionConfig, L: VisionLayer, x: Float32Array, n: number): void {
  const E = c.nEmbd;
  const h = new Float32Array(n * E);
  layerNorm(x, h, E, n, c.eps, L.ln1);
  const q = new Float32Array(n * E);
  const k = new Float32Array(n * E);
  const v = new Float32Array(n * E);
  linear(L.q, h, n, q);
  linear(L.k, h, n, k);
  linear(L.v, h, n, v);
  const a = new Float32Array(n * E);
  ks.attentionFull(q, k, v, a, n, c.nHead, c.headDim, Math.fround(1 / Math.sqrt(c.headDim)));
  linear(L.o, a, n, h);
  addInPlace(x, h);

  layerNorm(x, h, E, n, c.eps, L.ln2);
  const u = new Float32Array(n * c.nFf);
  linear(L.up, h, n, u);
  activate(c.act, u);
  linear(L.down, u, n, h);
  addInPlace(x, h);
}

/** Run the encoder on normalized planar pixels [3][imageSize][imageSize]. */
export function encode(
  ks: KernelSet,
  c: VisionConfig,
  w: VisionWeights,
  pixels: Float32Array,
): EncoderOutput {
  const E = c.nEmbd;
  const { n: nPatch } = patchGrid(c);
  const unfolded = unfoldPatches(pixels, c.imageSize, c.patchSize);
  let x: Float32Array = new Float32Array(nPatch * E);
  matmul(w.patch.w, unfolded, nPatch, x);
  addRows(x, w.patch.b, E, nPatch);
  if (w.classEmbd) x = appendClassToken(x, nPatch, E, w.classEmbd);
  const n = x.length / E;
  addInPlace(x, w.posEmbd, n * E);
  if (w.preLn) layerNorm(x, x, E, n, c.eps, w.preLn);

  const nRun = blocksToRun(c);
  const stack: Float32Array[] = [];
  if (c.projector === "gemma3") {
    for (let il = 0; il < nRun; il++) block(ks, c, w.layers[il]!, x, n);
    if (w.postLn) layerNorm(x, x, E, n, c.eps, w.postLn);
    return { hidden: x, nPos: n, width: E };
  }
  for (let il = 0; il < nRun; il++) {
    if (c.featureLayers.includes(il)) stack.push(x.slice());
    block(ks, c, w.layers[il]!, x, n);
  }
  if (w.postLn) layerNorm(x, x, E, n, c.eps, w.postLn);
  if (c.featureLayers.includes(nRun)) stack.push(x);
  if (stack.length === 0) return { hidden: x, nPos: n, width: E };

  // Concatenate the stacked hidden states feature-wise: row t = [s0[t], s1[t], ...].
  const width = E * stack.length;
  const hidden = new Float32Array(n * width);
  for (let t = 0; t < n; t++)
    stack.forEach((s, j) => hidden.set(s.subarray(t * E, (t + 1) * E), t * width + j * E));
  return { hidden, nPos: n, width };
}
