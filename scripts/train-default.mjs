// `npm run train:default`: rebuilds the shipped default model (v2) into models/ — the v2 SFT run
// (`npm run train:v2`: warm start from the v1 model of commit 35cde4a, output in
// build/train/v2/out), then `scripts/train-ship.mjs` writes it under the default model's name and
// file names. Extra arguments pass through to the training run (e.g. --resume, --threads 1); the
// build directory is EDGELLM_DIST (default dist). The v1 model itself is
// `edgellm train --preset default --out <dir>`.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const t0 = Date.now();
try {
  execFileSync(process.execPath, [here("train-v2.mjs"), ...process.argv.slice(2)], { stdio: "inherit" });
  execFileSync(process.execPath, [here("train-ship.mjs"), "build/train/v2/out/edgellm-v2-f32.gguf", "models"], {
    stdio: "inherit",
  });
  console.log(`train:default wall time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
} catch (e) {
  console.error(`train:default: ${e?.message ?? e}`);
  process.exitCode = 1;
}
