/**
 * Test-mmproj factory: a random-weight vision encoder + projector GGUF in llama.cpp's `mmproj`
 * layout (what `tools/mtmd/clip.cpp` loads), for conformance against llama-mtmd-cli. Same spec +
 * seed -> byte-identical file.
 *
 *   await writeTestMmproj("/tmp/mmproj.gguf", { style: "llava", imageSize: 112, nEmbd: 128, ... });
 *
 * Style "llava" is LLaVA-1.5's: a CLIP ViT (patch conv without bias, class embedding, pre-LN,
 * `nLayer` pre-norm blocks with biased q/k/v/out and a 2-matrix FFN) and the "mlp" projector
 * mm.0 -> GELU -> mm.2. Metadata and tensor names are those of llama.cpp's legacy converter
 * (`convert_image_encoder_to_gguf.py`), whose FFN names are swapped (`ffn_down` holds fc1, the
 * n_embd -> n_ff matrix); `legacyFfnNames: false` writes them the right way round. Shapes (ggml
 * order, ne[0] first):
 *   v.patch_embd.weight    [P, P, 3, n_embd]     conv kernel (kw, kh, c_in, c_out)
 *   v.class_embd           [n_embd]
 *   v.position_embd.weight [n_embd, n_pos]       n_pos = (S/P)^2 (+1 with a class embedding)
 *   v.blk.i.attn_{q,k,v,out}.{weight,bias}  [n_embd, n_embd], [n_embd]
 *   v.blk.i.ffn_up  [n_embd, n_ff] + [n_ff];  v.blk.i.ffn_down [n_ff, n_embd] + [n_embd]
 *   mm.0.weight [n_embd, mm_hidden];  mm.2.weight [mm_hidden, proj_dim]  (+ biases)
 */
import { GGMLType } from "../../gguf/types.js";
import { GGUFValueType, typed } from "../../gguf/value.js";
import { GGUFWriter } from "../../gguf/writer.js";
import { ModelError } from "../../errors.js";
import { Rng, fnv1a32 } from "../../sampling/rng.js";
import { encodeTensor } from "./tensor-data.js";

export interface TestMmprojSpec {
  /**
   * "llava": LLaVA-1.5 (above). "gemma3": Gemma 3's SigLIP (patch bias, no class embedding or
   * pre-LN, post-LN, tanh GELU, FFN names the right way round, mean/std 0.5, eps 1e-6 unless
   * given) with the gemma3 projector: mm.soft_emb_norm.weight [n_embd] and
   * mm.input_projection.weight [proj_dim, n_embd] (ne[0] = proj_dim), pooling `nMerge` per side.
   */
  style: "llava" | "gemma3";
  /** gemma3: clip.vision.projector.scale_factor (written only when given; llama.cpp's default 4). */
  nMerge?: number;
  /** clip.vision.image_size: the square input side in pixels. Default 112. */
  imageSize?: number;
  /** clip.vision.patch_size. Default 14 (CLIP ViT-L/14). */
  patchSize?: number;
  /** Encoder width, heads, FFN size, blocks. Defaults 128, 2, 512, 3. */
  nEmbd?: number;
  nHead?: number;
  nFf?: number;
  nLayer?: number;
  /** Output width of mm.0 (LLaVA: the language model's n_embd). Default projDim. */
  mmHidden?: number;
  /** Output width of the projector = the language model's n_embd. Default 64. */
  projDim?: number;
  /** clip.vision.attention.layer_norm_epsilon. Default 1e-5. */
  eps?: number;
  /** Encoder FFN activation: CLIP's quick GELU (LLaVA-1.5), or tanh GELU (clip.use_gelu). */
  act?: "gelu_quick" | "gelu";
  classEmbd?: boolean;
  patchBias?: boolean;
  preLn?: boolean;
  postLn?: boolean;
  /** FFN names as the legacy converter writes them (fc1 under ffn_down). Default true. */
  legacyFfnNames?: boolean;
  /** Type of the 2-D matrices (attention, FFN, projector); patch kernel and vectors stay F32. */
  weightType?: GGMLType;
  /** Type of v.patch_embd.weight (real files: F16). Default F32. */
  patchType?: GGMLType;
  imageMean?: [number, number, number];
  imageStd?: [number, number, number];
  seed?: number;
  name?: string;
  /**
   * Trained values by tensor name (row-major, the ggml dims reversed) instead of random ones: a
   * trained encoder (scripts/vision) written in this layout. Every planned tensor must be given.
   */
  tensors?: ReadonlyMap<string, Float32Array>;
  /** general.description (default: says the weights are random). */
  description?: string;
}

export type ResolvedMmprojSpec = Required<Omit<TestMmprojSpec, "nMerge" | "tensors" | "description">> & {
  nMerge: number | undefined;
};

/** CLIP's (OpenAI) normalization constants, as LLaVA-1.5's mmproj carries them. */
export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

export function resolveMmprojSpec(spec: TestMmprojSpec): ResolvedMmprojSpec {
  const projDim = spec.projDim ?? 64;
  const g = spec.style === "gemma3";
  const s: ResolvedMmprojSpec = {
    style: spec.style,
    nMerge: spec.nMerge,
    imageSize: spec.imageSize ?? 112,
    patchSize: spec.patchSize ?? 14,
    nEmbd: spec.nEmbd ?? 128,
    nHead: spec.nHead ?? 2,
    nFf: spec.nFf ?? 512,
    nLayer: spec.nLayer ?? 3,
    mmHidden: spec.mmHidden ?? projDim,
    projDim,
    eps: spec.eps ?? (g ? 1e-6 : 1e-5),
    act: spec.act ?? (g ? "gelu" : "gelu_quick"),
    classEmbd: spec.classEmbd ?? !g,
    patchBias: spec.patchBias ?? g,
    preLn: spec.preLn ?? !g,
    postLn: spec.postLn ?? g,
    legacyFfnNames: spec.legacyFfnNames ?? !g,
    weightType: spec.weightType ?? GGMLType.F32,
    patchType: spec.patchType ?? GGMLType.F32,
    imageMean: spec.imageMean ?? (g ? [0.5, 0.5, 0.5] : CLIP_MEAN),
    imageStd: spec.imageStd ?? (g ? [0.5, 0.5, 0.5] : CLIP_STD),
    seed: spec.seed ?? 1,
    name: spec.name ?? "edgellm test mmproj",
  };
  if (s.imageSize % s.patchSize !== 0)
    throw new ModelError(`imageSize ${s.imageSize} is not a multiple of patchSize ${s.patchSize}`, {
      field: "imageSize",
    });
  if (s.nEmbd % s.nHead !== 0)
    throw new ModelError(`nEmbd ${s.nEmbd} is not a multiple of nHead ${s.nHead}`, { field: "nHead" });
  return s;
}

/** One planned tensor: name, ggml dims, how its values are drawn, its fan-in (for the scale). */
interface Planned {
  name: string;
  dims: number[];
  kind: "matrix" | "bias" | "normW" | "normB" | "embd";
  type: GGMLType;
  /** Fan-in of a matrix when it is not dims[0] (the gemma3 projection is stored input-major). */
  fanIn?: number;
}

function plan(s: ResolvedMmprojSpec): Planned[] {
  const E = s.nEmbd;
  const P = s.patchSize;
  const nPos = (s.imageSize / P) ** 2 + (s.classEmbd ? 1 : 0);
  const out: Planned[] = [];
  const mat = (name: string, cols: number, rows: number) =>
    out.push({ name, dims: [cols, rows], kind: "matrix", type: s.weightType });
  const vec = (name: string, n: number, kind: Planned["kind"]) =>
    out.push({ name, dims: [n], kind, type: GGMLType.F32 });

  out.push({ name: "v.patch_embd.weight", dims: [P, P, 3, E], kind: "matrix", type: s.patchType });
  if (s.patchBias) vec("v.patch_embd.bias", E, "bias");
  if (s.classEmbd) vec("v.class_embd", E, "embd");
  out.push({ name: "v.position_embd.weight", dims: [E, nPos], kind: "embd", type: GGMLType.F32 });
  if (s.preLn) {
    vec("v.pre_ln.weight", E, "normW");
    vec("v.pre_ln.bias", E, "normB");
  }
  // fc1 (n_embd -> n_ff) and fc2 (n_ff -> n_embd) under the names the spec asks for.
  const [fc1, fc2] = s.legacyFfnNames ? ["ffn_down", "ffn_up"] : ["ffn_up", "ffn_down"];
  for (let i = 0; i < s.nLayer; i++) {
    const b = `v.blk.${i}`;
    for (const t of ["attn_q", "attn_k", "attn_v"]) {
      mat(`${b}.${t}.weight`, E, E);
      vec(`${b}.${t}.bias`, E, "bias");
    }
    mat(`${b}.attn_out.weight`, E, E);
    vec(`${b}.attn_out.bias`, E, "bias");
    vec(`${b}.ln1.weight`, E, "normW");
    vec(`${b}.ln1.bias`, E, "normB");
    mat(`${b}.${fc1}.weight`, E, s.nFf);
    vec(`${b}.${fc1}.bias`, s.nFf, "bias");
    mat(`${b}.${fc2}.weight`, s.nFf, E);
    vec(`${b}.${fc2}.bias`, E, "bias");
    vec(`${b}.ln2.weight`, E, "normW");
    vec(`${b}.ln2.bias`, E, "normB");
  }
  if (s.postLn) {
    vec("v.post_ln.weight", E, "normW");
    vec("v.post_ln.bias", E, "normB");
  }
  if (s.style === "gemma3") {
    vec("mm.soft_emb_norm.weight", E, "normW");
    out.push({
      name: "mm.input_projection.weight",
      dims: [s.projDim, E],
      kind: "matrix",
      type: s.weightType,
      fanIn: E,
    });
    return out;
  }
  mat("mm.0.weight", E, s.mmHidden);
  vec("mm.0.bias", s.mmHidden, "bias");
  mat("mm.2.weight", s.mmHidden, s.projDim);
  vec("mm.2.bias", s.projDim, "bias");
  return out;
}

/**
 * Values of one tensor from its own PRNG stream. Matrices are N(0, 1/fan_in) so activations stay
 * O(1) through the stack (a test that compares against 1e-3 should see values of that order);
 * biases N(0, 0.1), norm weights 1 + N(0, 0.1), embeddings N(0, 0.5).
 */
function values(s: ResolvedMmprojSpec, t: Planned): Float32Array {
  const n = t.dims.reduce((a, b) => a * b, 1);
  const rng = Rng.stream(s.seed, fnv1a32(t.name));
  const out = new Float32Array(n);
  switch (t.kind) {
    case "matrix": {
      const fanIn = t.fanIn ?? (t.dims.length === 4 ? t.dims[0]! * t.dims[1]! * t.dims[2]! : t.dims[0]!);
      return rng.fillNormal(out, 0, 1 / Math.sqrt(fanIn));
    }
    case "bias":
      return rng.fillNormal(out, 0, 0.1);
    case "normW":
      return rng.fillNormal(out, 1, 0.1);
    case "normB":
      return rng.fillNormal(out, 0, 0.1);
    case "embd":
      return rng.fillNormal(out, 0, 0.5);
  }
}

export function buildTestMmproj(spec: TestMmprojSpec): GGUFWriter {
  const s = resolveMmprojSpec(spec);
  const u32 = (v: number) => typed(GGUFValueType.UINT32, v);
  const f32 = (v: number) => typed(GGUFValueType.FLOAT32, v);
  const w = new GGUFWriter();
  // Key order and types as the legacy converter writes them.
  w.set("general.architecture", "clip");
  w.set("clip.has_text_encoder", false);
  w.set("clip.has_vision_encoder", true);
  if (s.style === "llava") w.set("clip.has_llava_projector", true);
  w.set("general.file_type", u32(s.weightType === GGMLType.F32 ? 0 : 1));
  w.set("general.name", s.name);
  w.set(
    "general.description",
    spec.description ??
      (s.style === "llava"
        ? "random-weight image encoder for LLaVA (edgellm test factory)"
        : "random-weight image encoder (gemma3 style, edgellm test factory)"),
  );
  w.set("clip.projector_type", s.style === "gemma3" ? "gemma3" : "mlp");
  if (s.nMerge !== undefined) w.set("clip.vision.projector.scale_factor", u32(s.nMerge));
  w.set("clip.vision.image_size", u32(s.imageSize));
  w.set("clip.vision.patch_size", u32(s.patchSize));
  w.set("clip.vision.embedding_length", u32(s.nEmbd));
  w.set("clip.vision.feed_forward_length", u32(s.nFf));
  w.set("clip.vision.projection_dim", u32(s.projDim));
  w.set("clip.vision.attention.head_count", u32(s.nHead));
  w.set("clip.vision.attention.layer_norm_epsilon", f32(s.eps));
  w.set("clip.vision.block_count", u32(s.nLayer));
  w.set("clip.vision.image_mean", typed(GGUFValueType.ARRAY, [...s.imageMean], GGUFValueType.FLOAT32));
  w.set("clip.vision.image_std", typed(GGUFValueType.ARRAY, [...s.imageStd], GGUFValueType.FLOAT32));
  w.set("clip.use_gelu", s.act === "gelu");
  for (const t of plan(s)) {
    const given = spec.tensors?.get(t.name);
    if (spec.tensors && !given)
      throw new ModelError(`no values for tensor '${t.name}'`, { field: "tensors" });
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (given && given.length !== n)
      throw new ModelError(`tensor '${t.name}' has ${given.length} values, its shape needs ${n}`, {
        field: "tensors",
      });
    w.addTensor(t.name, t.type, t.dims, () => encodeTensor(t.type, given ?? values(s, t), t.dims[0]!));
  }
  return w;
}

export async function writeTestMmproj(path: string, spec: TestMmprojSpec): Promise<void> {
  await buildTestMmproj(spec).write(path);
}
