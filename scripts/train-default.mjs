// `npm run train:default`: rebuilds the shipped default model into models/ by its whole chain of
// training stages, each resumable (a stage whose export exists is skipped; an interrupted stage
// continues bit-exactly from its checkpoint in build/train/<preset>/run.ckpt):
//
//   stage      preset    steps x batch x seq   tokens   starts from (sha256-pinned in the preset)
//   v2         v2        1200 x 4 x 1024       4.92M    the v1 model of commit 35cde4a
//   v2run      v2run      150 x 4 x 512        0.31M    train-state/v2 (= v2's export)
//   v2short    v2short    150 of 500 x 4 x 512 0.31M    v2run
//   v2units    v2units    100 of 450 x 4 x 512 0.20M    v2short at 150
//   v2unitsB   v2unitsB   160 x 4 x 512        0.33M    v2units at 100
//   v2unitsC   v2unitsC   600 x 4 x 512        1.23M    v2unitsB
//   v2unitsD   v2unitsD   300 x 4 x 512        0.61M    v2unitsC
//   v2unitsE   v2unitsE   400 x 4 x 512        0.82M    v2unitsD
//   v2unitsF   v2unitsF   400 x 4 x 512        0.82M    v2unitsE (tool calls right after the question)
//   v2unitsG   v2unitsG   400 x 4 x 512        0.82M    v2unitsF
//   v2unitsH   v2unitsH   250 x 4 x 1024       1.02M    v2unitsG (1,024-token rows: whole tool calls)
//   v2unitsI   v2unitsI   150 x 4 x 1024       0.61M    v2unitsH
//   v2unitsL   v2unitsL   150 x 4 x 1024       0.61M    v2unitsI (close subtractions, half negative)
//   v2unitsM   v2unitsM  5000 x 4 x 1024      20.48M    v2unitsL (± up to 6 digits, × up to 3×3)
//   v2unitsN   v2unitsN  1000 x 4 x 1024       4.10M    v2unitsM (close subtractions, more 3×3)
//   v2unitsU   v2unitsU  4000 x 4 x 1024      16.38M    v2unitsN (the sign of a − b read off its borrow out;
//                                                          + − lines carry the operands' unused digits)
//   ship       scripts/train-ship.mjs: v2unitsU re-exported as models/edgellm-default-{f32,q8_0}.gguf
//
// `--from v2` (default) starts at v2run from the committed train-state/v2 export (the v2 stage is
// ~2/3 of the tokens); `--from v1` runs the v2 stage first (`scripts/train-v2.mjs`) and stops if
// its export differs from train-state/v2 (the next stage pins that file's sha256). Other arguments
// pass through to every training stage (e.g. --threads 1). The build is EDGELLM_DIST (default dist).
// Each stage's wall time is printed as it ends.
//   EDGELLM_DIST=.dist-run setsid nohup nice -n 10 node scripts/train-default.mjs > build/train/default.log 2>&1 &
import path from "node:path";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
const args = process.argv.slice(2);
const fi = args.indexOf("--from");
const from = fi >= 0 ? args[fi + 1] : "v2";
const pass = fi >= 0 ? [...args.slice(0, fi), ...args.slice(fi + 2)] : args;
if (from !== "v1" && from !== "v2") {
  console.error("train:default: --from must be v1 or v2");
  process.exit(1);
}

/** [preset, stop-at step or undefined for the whole schedule] after the v2 stage */
const STAGES = [
  ["v2run", undefined],
  ["v2short", 150],
  ["v2units", 100],
  ["v2unitsB", undefined],
  ["v2unitsC", undefined],
  ["v2unitsD", undefined],
  ["v2unitsE", undefined],
  ["v2unitsF", undefined],
  ["v2unitsG", undefined],
  ["v2unitsH", undefined],
  ["v2unitsI", undefined],
  ["v2unitsL", undefined],
  ["v2unitsM", undefined],
  ["v2unitsN", undefined],
  ["v2unitsU", undefined],
];
const SHIPPED = "v2unitsU";
// the sha256 of the shipped model's F32 export (models/edgellm-default-f32.gguf is it re-exported
// under the default name); the chain is bit-exact, so a rerun must end on the same bytes
const SHIPPED_SHA = "3543dd3c8356f24e32103922b26bcaf0d7144a296b3ae0bd0f88a28b44ae562a";
const exportOf = (p) => `build/train/${p}/out/edgellm-${p}-f32.gguf`;
const sha = (f) => createHash("sha256").update(readFileSync(f)).digest("hex");
const run = (file, argv) => execFileSync(process.execPath, [file, ...argv], { stdio: "inherit" });

const t0 = Date.now();
const timed = (name, fn) => {
  const t = Date.now();
  fn();
  console.log(`train:default: ${name} took ${((Date.now() - t) / 1000).toFixed(0)} s`);
};
try {
  if (from === "v1") {
    if (!existsSync("build/train/v2/out/edgellm-v2-f32.gguf"))
      timed("v2", () => run(here("train-v2.mjs"), ["--resume", ...pass]));
    const [a, b] = [sha("build/train/v2/out/edgellm-v2-f32.gguf"), sha("train-state/v2/edgellm-v2-f32.gguf")];
    if (a !== b) throw new Error(`the v2 stage's export (sha256 ${a}) is not train-state/v2's (${b})`);
  }
  for (const [p, stop] of STAGES) {
    if (existsSync(exportOf(p))) {
      console.log(`train:default: ${p} done (${exportOf(p)})`);
      continue;
    }
    const argv = [
      "train",
      "--preset",
      p,
      "--out",
      `build/train/${p}/out`,
      "--work",
      `build/train/${p}`,
      "--resume",
    ];
    if (stop !== undefined) argv.push("--stop-at", String(stop));
    timed(p, () => run(path.join(dist, "src/cli/main.js"), [...argv, ...pass]));
  }
  const got = sha(exportOf(SHIPPED));
  if (got !== SHIPPED_SHA)
    throw new Error(`${exportOf(SHIPPED)} has sha256 ${got}, the shipped model ${SHIPPED_SHA}`);
  timed("ship", () => run(here("train-ship.mjs"), [exportOf(SHIPPED), "models"]));
  console.log(`train:default wall time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
} catch (e) {
  console.error(`train:default: ${e?.message ?? e}`);
  process.exitCode = 1;
}
