/**
 * The vision encoder's parameters <-> llama.cpp's mmproj GGUF (LLaVA-1.5 layout: CLIP ViT, class
 * token, pre-LN, mlp projector, tanh GELU). llama.cpp's "mlp" graph runs every block but the last,
 * so the file gets the trained blocks and then one zero block (which it skips).
 */
import { InputError } from "../../errors.js";
import { openGGUF } from "../../gguf/reader.js";
import { writeTestMmproj } from "../../model/factory/mmproj.js";
import { dequantizeRows } from "../../quant/index.js";
import type { Rng } from "../../sampling/rng.js";
import { growVitParams, type VitConfig, vitLayout } from "./encoder.js";

export interface VitExportOptions {
  /** per-channel normalization the preprocessor applies: (v / 255 - mean) / std */
  mean: number;
  std: number;
  name?: string;
  description?: string;
}

export async function writeVitMmproj(
  path: string,
  c: VitConfig,
  params: Float32Array,
  o: VitExportOptions,
): Promise<void> {
  const layout = vitLayout(c);
  if (params.length !== layout.total)
    throw new InputError(`params have ${params.length} values, the config needs ${layout.total}`);
  const tensors = new Map<string, Float32Array>();
  for (const e of layout.entries) tensors.set(e.name, params.slice(e.offset, e.offset + e.size));
  for (const e of layout.entries)
    if (e.name.startsWith("v.blk.0."))
      tensors.set(e.name.replace("v.blk.0.", `v.blk.${c.layers}.`), new Float32Array(e.size));
  await writeTestMmproj(path, {
    style: "llava",
    imageSize: c.imageSize,
    patchSize: c.patchSize,
    nEmbd: c.dim,
    nHead: c.heads,
    nFf: c.ffn,
    nLayer: c.layers + 1,
    mmHidden: c.mmHidden,
    projDim: c.projDim,
    eps: c.eps,
    act: "gelu",
    legacyFfnNames: false,
    imageMean: [o.mean, o.mean, o.mean],
    imageStd: [o.std, o.std, o.std],
    name: o.name ?? "edgellm-vision-mmproj",
    description: o.description,
    tensors,
  });
}

/** The trained parameters of an mmproj this module wrote (or any of the same shapes), layout order. */
export async function readVitMmproj(path: string, c: VitConfig): Promise<Float32Array> {
  const layout = vitLayout(c);
  const f = await openGGUF(path);
  try {
    const out = new Float32Array(layout.total);
    for (const e of layout.entries) {
      const t = f.tensors.find((x) => x.name === e.name);
      if (!t) throw new InputError(`mmproj has no tensor ${e.name}`, { file: path });
      if (t.nElements !== e.size)
        throw new InputError(`mmproj tensor ${e.name} has ${t.nElements} values, expected ${e.size}`, {
          file: path,
        });
      out.set(dequantizeRows(t.type, await f.readTensor(t), e.size), e.offset);
    }
    return out;
  } finally {
    await f.close();
  }
}

/**
 * Warm-start parameters for config `c` from an mmproj this module wrote: its own block count
 * (the file's minus the skipped zero block) and FFN width come from the metadata; a smaller
 * encoder is grown to `c` (growVitParams: same function, new capacity).
 */
export async function readVitMmprojGrown(path: string, c: VitConfig, rng: Rng): Promise<Float32Array> {
  const f = await openGGUF(path);
  const num = (k: string): number => {
    const v = f.metadata.get(k);
    if (typeof v !== "number" && typeof v !== "bigint")
      throw new InputError(`mmproj lacks ${k}`, { file: path });
    return Number(v);
  };
  const from: VitConfig = {
    ...c,
    dim: num("clip.vision.embedding_length"),
    layers: num("clip.vision.block_count") - 1,
    ffn: num("clip.vision.feed_forward_length"),
  };
  await f.close();
  if (from.dim === c.dim && from.layers === c.layers && from.ffn === c.ffn) return readVitMmproj(path, c);
  return growVitParams(from, await readVitMmproj(path, from), c, rng);
}
