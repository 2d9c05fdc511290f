#!/usr/bin/env node
/**
 * A second llama.cpp reference for the conformance suite: node-llama-cpp with only its AVX2
 * (haswell) CPU backend library, so the tests can be run against the AVX2 float order on a machine
 * where the stock package picks an AVX-512 build (zen4, skylakex, icelake...), and vice versa.
 *
 *   node scripts/setup-llama-avx2.mjs   -> build/llama-avx2/node_modules/node-llama-cpp
 *   EDGELLM_REF_LLAMA=avx2 node --test dist/test/conformance/...
 *
 * How: node-llama-cpp loads its addon from `<package>/bins/<platform>/` before looking at the
 * @node-llama-cpp/<platform> binaries package, and ggml then loads the best CPU backend library
 * found next to the addon. The copy's bins/ holds the addon, the shared libraries and
 * libggml-cpu-haswell.so alone. Its dist/ is copied (the JS must resolve to this copy); the large
 * llama/ source folder and templates are symlinked. Idempotent; nothing outside build/ is touched.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const platform = `${process.platform}-${process.arch}`;
const pkgDir = realpathSync(join(root, "node_modules", "node-llama-cpp"));
const binsDir = realpathSync(join(root, "node_modules", "@node-llama-cpp", platform, "bins", platform));
const VARIANT = process.env.EDGELLM_REF_LLAMA_VARIANT ?? "haswell";

const out = join(root, "build", "llama-avx2", "node_modules", "node-llama-cpp");
rmSync(join(root, "build", "llama-avx2"), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const name of ["package.json", "dist", "node_modules"])
  cpSync(join(pkgDir, name), join(out, name), { recursive: true });
for (const name of ["llama", "templates"])
  if (existsSync(join(pkgDir, name))) symlinkSync(join(pkgDir, name), join(out, name));

const bins = join(out, "bins", platform);
mkdirSync(bins, { recursive: true });
const kept = [];
for (const f of readdirSync(binsDir)) {
  // Every CPU variant but the chosen one is left out; ggml falls back to nothing else.
  const m = /^libggml-cpu-(.+)\.so$/.exec(f);
  if (m && m[1] !== VARIANT) continue;
  cpSync(join(binsDir, f), join(bins, f));
  kept.push(f);
}
if (!kept.includes(`libggml-cpu-${VARIANT}.so`))
  throw new Error(`no libggml-cpu-${VARIANT}.so in ${binsDir}`);
writeFileSync(
  join(root, "build", "llama-avx2", "README"),
  `node-llama-cpp with only libggml-cpu-${VARIANT}.so (scripts/setup-llama-avx2.mjs)\n`,
);
console.log(`${out}\n  bins/${platform}: ${kept.join(", ")}`);
