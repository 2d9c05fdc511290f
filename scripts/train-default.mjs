// `npm run train:default`: trains the embedded default model (preset `default`) into models/ —
// the same as `edgellm train --preset default --out models`, but loading only the training
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
    "default",
    "--out",
    "models",
    ...process.argv.slice(2),
  ]);
  console.log(`train:default wall time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
} catch (e) {
  console.error(`train:default: ${e?.name ?? "Error"}: ${e?.message ?? e}`);
  process.exitCode = 1;
}
