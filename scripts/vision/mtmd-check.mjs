// llama.cpp reads the tiny vision model: run llama-mtmd-cli (built by `node scripts/mtmd-golden.mjs
// build --prebuilt-libs`) on the language model + mmproj + one image with MTMD_DEBUG_EMBEDDINGS,
// and compare its image rows and its greedy answer with edgellm's on the same files.
//   node scripts/vision/mtmd-check.mjs LM.gguf MMPROJ.gguf IMAGE.png [PROMPT]
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM, MEDIA_MARKER } from "../../dist/src/engine/llm.js";
import { loadVision, encodeImageFiles } from "../../dist/src/cli/image-options.js";

const [lm, mm, image, prompt = "Solve this"] = process.argv.slice(2);
const N = 400;
const cli = [
  "build/llama.cpp-mtmd/bin/llama-mtmd-cli",
  "build/llama.cpp-mtmd-prebuilt/bin/llama-mtmd-cli",
].find(existsSync);
if (!cli) throw new Error("no llama-mtmd-cli: node scripts/mtmd-golden.mjs build --prebuilt-libs");
const dump = join(mkdtempSync(join(tmpdir(), "mtmd-")), "emb.bin");
const args = ["-m", lm, "--mmproj", mm, "--image", image, "-p", prompt, "--chat-template", "chatml"];
args.push("-fa", "off", "--temp", "0", "-n", String(N), "-t", "2", "--no-warmup");
const r = spawnSync("nice", ["-n", "19", cli, ...args], {
  env: { ...process.env, MTMD_DEBUG_EMBEDDINGS: dump },
  encoding: "utf8",
});
if (r.status !== 0 || !existsSync(dump))
  throw new Error(`llama-mtmd-cli failed (${r.status}): ${r.stderr.slice(-2000)}`);
const raw = readFileSync(dump);
const [nTok, nEmbd] = [raw.readInt32LE(0), raw.readInt32LE(4)];
const ref = new Float32Array(raw.buffer.slice(raw.byteOffset + 8, raw.byteOffset + 8 + nTok * nEmbd * 4));
const theirs = r.stdout.trim();

const llm = await loadLLM(lm, { parallel: 1 });
const vm = await loadVision(mm, llm);
const [m] = await encodeImageFiles([image], vm);
let maxd = 0;
let maxv = 0;
for (let i = 0; i < ref.length; i++) {
  maxd = Math.max(maxd, Math.abs(ref[i] - m.data[i]));
  maxv = Math.max(maxv, Math.abs(ref[i]));
}
const p = llm.encodeChatMedia([{ role: "user", content: MEDIA_MARKER + prompt }], [m]);
let ours = "";
for await (const c of llm.generate(p.tokens, { media: p.media, maxTokens: N, temperature: 0 }))
  ours += c.text;
await llm.close();
console.log(
  `rows: llama.cpp ${nTok} x ${nEmbd}, edgellm ${m.nTokens}; max |diff| ${maxd.toExponential(2)} (max |value| ${maxv.toFixed(3)})`,
);
console.log(`llama.cpp: ${JSON.stringify(theirs)}`);
console.log(`edgellm:   ${JSON.stringify(ours.trim())}`);
console.log(`same answer text: ${theirs === ours.trim()}`);
