// Rendered problems as PNG files + labels.json (what scripts/vision/eval.mjs reads), from
// src/train/vision/render.ts: held-out fonts and positions by default (split "test").
//   node scripts/vision/render.mjs OUT_DIR N SEED [test|train] [--atlas build/vision/atlas]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encode } from "fast-png";
import { hash32, Rng } from "../../dist/src/sampling/rng.js";
import { GlyphAtlas, drawProblem, sampleProblem, IMAGE_SIZE } from "../../dist/src/train/vision/render.js";

const args = process.argv.slice(2);
const ai = args.indexOf("--atlas");
const atlasPrefix = ai >= 0 ? args.splice(ai, 2)[1] : "build/vision/atlas";
const [out, nArg, seedArg, split = "test"] = args;
if (!out || !nArg || !seedArg || !["test", "train"].includes(split)) {
  console.error("usage: node scripts/vision/render.mjs OUT_DIR N SEED [test|train]");
  process.exit(1);
}
const atlas = new GlyphAtlas(
  JSON.parse(readFileSync(`${atlasPrefix}.json`, "utf8")),
  new Uint8Array(readFileSync(`${atlasPrefix}.bin`)),
);
mkdirSync(out, { recursive: true });
const items = [];
for (let i = 0; i < Number(nArg); i++) {
  const rng = new Rng(hash32(`render:${seedArg}:${split}:${i}`));
  const p = sampleProblem(atlas, rng, split);
  const data = drawProblem(atlas, rng, p.placed);
  const file = `${String(i).padStart(4, "0")}.png`;
  writeFileSync(join(out, file), encode({ width: IMAGE_SIZE, height: IMAGE_SIZE, data, channels: 3, depth: 8 }));
  const f = p.placed[0];
  items.push({ file, a: p.a, op: p.op, b: p.b, cells: p.cells, font: atlas.index.fonts[f.font], size: f.size });
}
writeFileSync(join(out, "labels.json"), JSON.stringify(items, null, 0));
console.log(`wrote ${items.length} images to ${out}`);
