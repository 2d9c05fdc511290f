// `npm run train:v2`: the default model v2 (preset `v2`: warm start from models/, context 1024,
// the v2 data mix) into build/train/v2/out — `edgellm train --preset v2 --out build/train/v2/out`, loading only the training
// command, so it runs from any build directory. The run in progress uses a frozen build:
//   EDGELLM_DIST=.dist-v2 nohup nice -n 19 node scripts/train-v2.mjs --resume > build/train/v2/train.log 2>&1 &
// (--resume continues from build/train/v2/run.ckpt, written every 10 steps; without a checkpoint
// it starts the warm start). Extra arguments pass through (e.g. --steps N, --threads 1).
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
// the warm start: the v1 default model as committed in 35cde4a (models/ may hold a newer one)
const V1 = "build/train/v1-default-f32.gguf";
if (!existsSync(V1)) {
  mkdirSync(path.dirname(V1), { recursive: true });
  writeFileSync(V1, execFileSync("git", ["show", "35cde4a:models/edgellm-default-f32.gguf"], { maxBuffer: 1 << 28 }));
}
const { register } = await import(pathToFileURL(path.join(dist, "src/cli/train.js")).href);
const program = new Command().name("edgellm").exitOverride();
register(program);
const t0 = Date.now();
try {
  await program.parseAsync([
    "node",
    "edgellm",
    "train",
    "--preset",
    "v2",
    "--out",
    "build/train/v2/out",
    ...process.argv.slice(2),
  ]);
  console.log(`train:v2 wall time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
} catch (e) {
  console.error(`train:v2: ${e?.name ?? "Error"}: ${e?.message ?? e}`);
  process.exitCode = 1;
}
