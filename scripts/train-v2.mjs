// `npm run train:v2`: the default model v2 (preset `v2`: warm start from models/, context 1024,
// the v2 data mix) into build/train/v2/out — `edgellm train --preset v2 --out build/train/v2/out`, loading only the training
// command, so it runs from any build directory: EDGELLM_DIST=.dist-x node scripts/train-default.mjs
// Extra arguments pass through (e.g. --resume, --steps N, --threads 1).
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Command } from "commander";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
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
