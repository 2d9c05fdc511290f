// A layer-truncated copy of a GGUF model: its first K blocks, with the same embeddings, final norm
// and output head (block_count set to K). Used as a draft model that shares the target's
// vocabulary and trained weights (early-exit drafting through the draft-model path).
//   npm run build && node scripts/truncate-layers.mjs <in.gguf> <out.gguf> <K>
import { openGGUF } from "../dist/src/gguf/reader.js";
import { GGUFWriter } from "../dist/src/gguf/writer.js";
import { copyMetadata } from "../dist/src/gguf/copy.js";

const [inPath, outPath, kArg] = process.argv.slice(2);
const K = Number(kArg);
if (!inPath || !outPath || !Number.isInteger(K) || K < 1) {
  console.error("usage: node scripts/truncate-layers.mjs <in.gguf> <out.gguf> <K>");
  process.exit(2);
}
const src = await openGGUF(inPath);
try {
  const arch = src.metadata.get("general.architecture");
  const key = `${arch}.block_count`;
  const n = Number(src.metadata.get(key));
  if (!(K < n)) throw new Error(`the model has ${n} blocks; K must be below that`);
  const w = new GGUFWriter();
  copyMetadata(src, w, (k) => k === key);
  w.set(key, K);
  let kept = 0;
  for (const t of src.tensors) {
    const m = /^blk\.(\d+)\./.exec(t.name);
    if (m && Number(m[1]) >= K) continue;
    w.addTensor(t.name, t.type, t.dims, () => src.readTensor(t));
    kept++;
  }
  await w.write(outPath);
  console.log(`${outPath}: ${K} of ${n} blocks, ${kept} tensors`);
} finally {
  await src.close();
}
