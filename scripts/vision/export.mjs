// Write the trained encoder (scripts/vision/train-encoder.py --dump: PREFIX.json + PREFIX.bin) as a
// llama.cpp mmproj GGUF: LLaVA-1.5 layout (CLIP ViT, class token, pre-LN, mlp projector). The
// "mlp" graph runs all blocks but the last, so the trained blocks are followed by one zero block.
//   node scripts/vision/export.mjs build/vision/enc/weights models/edgellm-vision-mmproj-f32.gguf
import { readFileSync } from "node:fs";
import { writeTestMmproj } from "../../dist/src/model/factory/mmproj.js";

const [prefix, out] = process.argv.slice(2);
const meta = JSON.parse(readFileSync(`${prefix}.json`, "utf8"));
const bin = readFileSync(`${prefix}.bin`);
const all = new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4);
const tensors = new Map();
for (const [name, t] of Object.entries(meta.tensors)) {
  const n = t.shape.reduce((a, b) => a * b, 1);
  tensors.set(name, all.slice(t.offset, t.offset + n));
}
const c = meta.config;
const E = c.nEmbd;
const last = `v.blk.${c.nLayer}`;
for (const [n, size] of [
  ["attn_q.weight", E * E],
  ["attn_k.weight", E * E],
  ["attn_v.weight", E * E],
  ["attn_out.weight", E * E],
  ["attn_q.bias", E],
  ["attn_k.bias", E],
  ["attn_v.bias", E],
  ["attn_out.bias", E],
  ["ln1.weight", E],
  ["ln1.bias", E],
  ["ln2.weight", E],
  ["ln2.bias", E],
  ["ffn_up.weight", E * c.nFf],
  ["ffn_up.bias", c.nFf],
  ["ffn_down.weight", E * c.nFf],
  ["ffn_down.bias", E],
])
  tensors.set(`${last}.${n}`, new Float32Array(size));
const projDim = meta.tensors["mm.2.bias"].shape[0];
await writeTestMmproj(out, {
  style: "llava",
  imageSize: c.imageSize,
  patchSize: c.patchSize,
  nEmbd: E,
  nHead: c.nHead,
  nFf: c.nFf,
  nLayer: c.nLayer + 1,
  mmHidden: c.mmHidden,
  projDim,
  eps: c.eps,
  act: "gelu",
  legacyFfnNames: false,
  imageMean: [c.mean, c.mean, c.mean],
  imageStd: [c.std, c.std, c.std],
  name: "edgellm-vision-mmproj",
  description: `edgellm tiny vision encoder (scripts/vision, step ${meta.step ?? "final"}): rendered arithmetic problems, one row per 8 x 8 cell`,
  tensors,
});
console.log(`wrote ${out}`);
