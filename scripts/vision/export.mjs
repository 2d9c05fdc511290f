// Write a checkpoint of the vision encoder (scripts/vision/train-encoder.mjs: OUT_DIR/encoder.ckpt)
// as a llama.cpp mmproj GGUF (LLaVA-1.5 layout; src/train/vision/mmproj.ts).
//   node scripts/vision/export.mjs build/vision/enc-ts/encoder.ckpt build/vision/mmproj.gguf
import { loadCheckpoint } from "../../dist/src/train/checkpoint.js";
import { writeVitMmproj } from "../../dist/src/train/vision/mmproj.js";

const [ckpt, out] = process.argv.slice(2);
if (!ckpt || !out) {
  console.error("usage: node scripts/vision/export.mjs ENCODER.ckpt OUT.gguf");
  process.exit(1);
}
const c = await loadCheckpoint(ckpt);
await writeVitMmproj(out, c.config, c.params, {
  mean: c.meta.mean ?? 0.5,
  std: c.meta.std ?? 0.5,
  description: `edgellm tiny vision encoder (scripts/vision/train-encoder.mjs, step ${c.step}): rendered arithmetic problems, one row per 8 x 8 cell`,
});
console.log(`wrote ${out} (step ${c.step})`);
