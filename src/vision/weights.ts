/**
 * Binding an mmproj's tensors by their GGUF names (llama.cpp clip.cpp's TN_* names), shapes
 * checked against the config. Matrices go to the KernelSet (prepared once, file bytes dropped);
 * vectors, the class and position embeddings are decoded to f32.
 *
 * Shapes (ggml order, ne[0] = the contiguous input dimension; E = n_embd, P = patch side):
 *   v.patch_embd.weight    [P, P, 3, E]  used as a matrix [E rows][3*P*P cols], columns (c, ky, kx)
 *   v.patch_embd.bias      [E]           optional
 *   v.class_embd           [E]           optional (CLIP)
 *   v.position_embd.weight [E, n_pos]    n_pos = patches (+1 with a class embedding)
 *   v.pre_ln / v.post_ln   [E] weight + bias, optional
 *   v.blk.i.{ln1,ln2}      [E] weight + bias
 *   v.blk.i.attn_{q,k,v,out}.weight [E, E] (+ bias [E])
 *   v.blk.i.ffn_up [E, F], ffn_down [F, E] (+ biases). Files from llama.cpp's legacy converter
 *     (LLaVA-1.5, ...) store them under each other's name; as clip.cpp does, a `ffn_down` whose
 *     ne[0] is E is taken for the up matrix and the two are swapped.
 *   mm.0.weight [E * n_features, H], mm.2.weight [H, D] (+ biases): the "mlp" projector.
 *   mm.soft_emb_norm.weight [E], mm.input_projection.weight [D, E]: the "gemma3" projector. The
 *     projection is stored input-major (ne[0] = D) and clip.cpp multiplies by its transpose made
 *     contiguous in the same type, so it is transposed here (F32 / F16 / BF16) into [D rows][E].
 */
import { ModelError, UnsupportedProjectorError } from "../errors.js";
import type { GGUFFile } from "../gguf/reader.js";
import type { KernelSet } from "../kernels/kernel-set.js";
import { makeWeight, prepareInto, type Weight, WeightBinder } from "../model/weights.js";
import { dequantizeRowAny } from "../model/blocks/linear.js";
import { GGMLType, ggmlTypeName } from "../gguf/types.js";
import { quantizeRowF16 } from "../quant/f16.js";
import { patchGrid, type VisionConfig } from "./mmproj.js";

/** y = W x + b */
export interface Linear {
  w: Weight;
  b: Float32Array | undefined;
}

/** LayerNorm affine parameters (either may be absent in a file). */
export interface NormParams {
  w: Float32Array | undefined;
  b: Float32Array | undefined;
}

export interface VisionLayer {
  ln1: NormParams;
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  ln2: NormParams;
  /** E -> F and F -> E. */
  up: Linear;
  down: Linear;
}

export interface VisionWeights {
  /** [E rows][3 * P * P cols]. */
  patch: Linear;
  classEmbd: Float32Array | undefined;
  /** [n_pos][E]. */
  posEmbd: Float32Array;
  preLn: NormParams | undefined;
  postLn: NormParams | undefined;
  layers: VisionLayer[];
  proj: ProjectorWeights;
}

/**
 * "mlp": mm.0 (E * n_features -> H), GELU, mm.2 (H -> D).
 * "gemma3": RMSNorm weight `softEmbNorm` [E], then `inputProj` (E -> D).
 */
export type ProjectorWeights =
  | { kind: "mlp"; mm0: Linear; mm2: Linear }
  | { kind: "gemma3"; softEmbNorm: Float32Array; inputProj: Weight };

/** Output width of the projector (= the language model's n_embd it was trained for). */
export function projectorDim(w: VisionWeights): number {
  return w.proj.kind === "mlp" ? w.proj.mm2.w.rows : w.proj.inputProj.rows;
}

export function bindVisionWeights(file: GGUFFile, c: VisionConfig, ks?: KernelSet): VisionWeights {
  const B = new WeightBinder(file, ks);
  const E = c.nEmbd;
  const linear = (name: string, cols: number, rows: number): Linear => ({
    w: B.matrix(`${name}.weight`, [cols, rows]),
    b: B.optVector(`${name}.bias`, rows),
  });
  const norm = (name: string): NormParams | undefined =>
    B.has(`${name}.weight`) || B.has(`${name}.bias`)
      ? { w: B.optVector(`${name}.weight`, E), b: B.optVector(`${name}.bias`, E) }
      : undefined;

  const patch = bindPatchKernel(file, c, ks);
  const patchBias = B.optVector("v.patch_embd.bias", E);
  const classEmbd = B.optVector("v.class_embd", E);
  const nPos = patchGrid(c).n + (classEmbd ? 1 : 0);
  const posEmbd = B.floats("v.position_embd.weight", [E, nPos]);

  const layers: VisionLayer[] = [];
  for (let i = 0; i < c.nLayer; i++) {
    const p = `v.blk.${i}`;
    if (B.has(`${p}.ffn_gate.weight`) || B.has(`${p}.attn_qkv.weight`)) {
      throw new ModelError(`gated FFN / fused QKV encoder blocks are not supported yet`, {
        file: file.path,
        field: `${p}.ffn_gate.weight`,
      });
    }
    // Legacy names: clip.cpp swaps when ffn_down's input width (ne[0]) is n_embd.
    const swapped = file.tensorByName(`${p}.ffn_down.weight`)?.dims[0] === E;
    const [upName, downName] = swapped ? [`${p}.ffn_down`, `${p}.ffn_up`] : [`${p}.ffn_up`, `${p}.ffn_down`];
    layers.push({
      ln1: norm(`${p}.ln1`) ?? { w: undefined, b: undefined },
      q: linear(`${p}.attn_q`, E, E),
      k: linear(`${p}.attn_k`, E, E),
      v: linear(`${p}.attn_v`, E, E),
      o: linear(`${p}.attn_out`, E, E),
      ln2: norm(`${p}.ln2`) ?? { w: undefined, b: undefined },
      up: linear(upName, E, c.nFf),
      down: linear(downName, c.nFf, E),
    });
  }

  return {
    patch: { w: patch, b: patchBias },
    classEmbd,
    posEmbd,
    preLn: norm("v.pre_ln"),
    postLn: norm("v.post_ln"),
    layers,
    proj: c.projector === "gemma3" ? bindGemma3(file, B, c, ks) : bindMlp(file, B, c, linear),
  };
}

function bindMlp(
  file: GGUFFile,
  B: WeightBinder,
  c: VisionConfig,
  linear: (name: string, cols: number, rows: number) => Linear,
): ProjectorWeights {
  if (B.has("mm.3.weight")) {
    // clip.cpp turns "mlp" with mm.3 into MLP_NORM (Yi-VL): two LayerNorms in the projector.
    throw new UnsupportedProjectorError(
      "mlp_norm",
      true,
      "projector 'mlp' with mm.1/mm.3/mm.4 (Yi-VL's MLP_NORM) is not supported yet",
      {
        file: file.path,
        field: "mm.3.weight",
      },
    );
  }
  const nFeat = Math.max(1, c.featureLayers.length);
  const hidden = file.tensorByName("mm.0.weight")?.dims[1] ?? 0;
  const out = file.tensorByName("mm.2.weight")?.dims[1] ?? 0;
  return { kind: "mlp", mm0: linear("mm.0", c.nEmbd * nFeat, hidden), mm2: linear("mm.2", hidden, out) };
}

function bindGemma3(file: GGUFFile, B: WeightBinder, c: VisionConfig, ks?: KernelSet): ProjectorWeights {
  const E = c.nEmbd;
  const softEmbNorm = B.floats("mm.soft_emb_norm.weight", [E]);
  const name = "mm.input_projection.weight";
  const t = file.tensorByName(name);
  if (!t) throw new ModelError(`missing tensor '${name}'`, { file: file.path, field: name });
  const D = t.dims[0] ?? 0;
  if (t.dims.length !== 2 || t.dims[1] !== E || D === 0)
    throw new ModelError(`tensor '${name}' has shape [${t.dims}], expected [n_embd_text, ${E}]`, {
      file: file.path,
      field: name,
    });
  const el = t.type === GGMLType.F32 ? 4 : t.type === GGMLType.F16 || t.type === GGMLType.BF16 ? 2 : 0;
  if (el === 0)
    throw new ModelError(
      `'${name}' of type ${ggmlTypeName(t.type)}: clip.cpp transposes it, which ggml does for F32, F16 and BF16 only`,
      { file: file.path, field: name },
    );
  const src = file.readTensorSync(t);
  // src: E rows of D elements (row i = input feature i); out: D rows of E elements.
  const dst = new Uint8Array(src.length);
  for (let i = 0; i < E; i++)
    for (let o = 0; o < D; o++) {
      const from = (i * D + o) * el;
      const to = (o * E + i) * el;
      for (let b = 0; b < el; b++) dst[to + b] = src[from + b]!;
    }
  const w = makeWeight(name, t.type, [E, D], dst);
  if (ks) prepareInto(w, ks);
  return { kind: "gemma3", softEmbNorm, inputProj: w };
}

/**
 * The patch convolution's kernel [P, P, 3, E] as a matrix [E][3 * P * P], typed the way ggml's
 * ggml_conv_2d computes with it: the unfolded pixels (im2col) are F16 unless the kernel is BF16,
 * and the product then runs in the im2col's type, so an F32 or F16 kernel and the pixels are both
 * rounded to half before an f32 dot. We store F32 kernels as F16 (the F16 matmul rounds the
 * activations to half: the same product); a BF16 kernel meets F32 pixels, so it is widened to F32.
 */
function bindPatchKernel(file: GGUFFile, c: VisionConfig, ks?: KernelSet): Weight {
  const name = "v.patch_embd.weight";
  const t = file.tensorByName(name);
  const P = c.patchSize;
  const want = [P, P, 3, c.nEmbd];
  if (!t) throw new ModelError(`missing tensor '${name}'`, { file: file.path, field: name });
  if (t.dims.length !== 4 || t.dims.some((d, i) => d !== want[i])) {
    throw new ModelError(`tensor '${name}' has shape [${t.dims}], expected [${want}]`, {
      file: file.path,
      field: name,
    });
  }
  const n = 3 * P * P * c.nEmbd;
  let type = t.type;
  let bytes = file.readTensorSync(t);
  if (type === GGMLType.F32 || type === GGMLType.BF16) {
    const f = new Float32Array(n);
    dequantizeRowAny(type, bytes, 0, f, 0, n, name);
    if (type === GGMLType.F32) {
      bytes = new Uint8Array(n * 2);
      quantizeRowF16(f, 0, bytes, 0, n);
      type = GGMLType.F16;
    } else {
      bytes = new Uint8Array(f.buffer);
      type = GGMLType.F32;
    }
  } else if (type !== GGMLType.F16) {
    throw new ModelError(
      `patch kernel type ${ggmlTypeName(type)} is not one ggml's conv_2d takes (F32, F16, BF16)`,
      {
        file: file.path,
        field: name,
      },
    );
  }
  const w = makeWeight(name, type, [3 * P * P, c.nEmbd], bytes);
  if (ks) prepareInto(w, ks);
  return w;
}
