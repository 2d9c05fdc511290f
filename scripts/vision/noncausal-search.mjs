// Which random-weight language models tell causal from non-causal image attention? For a Gemma 3
// style mmproj (its image rows attend to each other non-causally in llama.cpp) and language models
// of several seeds, run OUR engine's greedy continuation twice, with the image span non-causal (as
// llama.cpp decodes it) and causal, and print the seeds whose continuations differ: only such
// cases can check the non-causal attention against llama-mtmd-cli (scripts/mtmd-golden.mjs golden
// then commits llama.cpp's tokens for them). A one-layer LM never differs: its keys and values are
// products of the input rows alone.
//   node scripts/vision/noncausal-search.mjs [SEEDS=1..30] [ARCH=llama] [LAYERS=2]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestMmproj } from "../../dist/src/model/factory/mmproj.js";
import { writeTestModel } from "../../dist/src/model/factory/index.js";
import { loadLLM, MEDIA_MARKER } from "../../dist/src/engine/llm.js";
import { openVisionModel } from "../../dist/src/vision/index.js";

const golden = "test/golden/vision";
const manifest = JSON.parse(readFileSync(join(golden, "cases.json"), "utf8"));
const base = manifest.cases.find((c) => c.name === "gemma3");
const [lo, hi] = (process.env.SEEDS ?? "1..30").split("..").map(Number);
const arch = process.env.ARCH ?? "llama";
const layers = Number(process.env.LAYERS ?? 2);
const N = 12;

function readPpm(path) {
  const b = readFileSync(path);
  const f = [];
  let i = 0;
  while (f.length < 4) {
    while (/\s/.test(String.fromCharCode(b[i]))) i++;
    let s = "";
    while (!/\s/.test(String.fromCharCode(b[i]))) s += String.fromCharCode(b[i++]);
    f.push(s);
  }
  i++;
  const [w, h] = [Number(f[1]), Number(f[2])];
  return { width: w, height: h, data: new Uint8Array(b.subarray(i, i + w * h * 3)) };
}

const dir = mkdtempSync(join(tmpdir(), "nc-search-"));
try {
  const mm = join(dir, "mm.gguf");
  await writeTestMmproj(mm, base.mmproj);
  const img = readPpm(join(golden, base.image));
  const messages = [{ role: "user", content: `${MEDIA_MARKER}describe` }];
  for (let seed = lo; seed <= hi; seed++) {
    const spec = { ...base.lm, arch, nLayer: layers, seed };
    const lm = join(dir, `lm-${seed}.gguf`);
    await writeTestModel(lm, spec);
    const llm = await loadLLM(lm, { threads: 1, chatTemplate: "chatml" });
    try {
      const emb = (await openVisionModel(mm, llm.kernels)).encodeImage(img);
      const run = async (nonCausal) => {
        const p = llm.encodeChatMedia(messages, [
          { data: emb.data, nTokens: emb.nTokens, key: `k${nonCausal}`, begin: emb.begin, end: emb.end, nonCausal },
        ]);
        const c = await llm.complete(p.tokens, { media: p.media, temperature: 0, maxTokens: N });
        return c.choices[0].tokens;
      };
      const a = await run(true);
      const b = await run(false);
      const first = a.findIndex((t, i) => t !== b[i]);
      console.log(
        `${arch} layers ${layers} seed ${seed}: ${first < 0 ? "same" : `differ from token ${first}`} ${JSON.stringify(spec)}`,
      );
    } finally {
      await llm.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
