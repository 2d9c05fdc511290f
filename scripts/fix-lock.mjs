// Run after `npm install` changes package-lock.json: `node scripts/fix-lock.mjs package-lock.json`.
// This registry serves only some of node-llama-cpp's per-platform binaries, so npm leaves the others
// out of the lock and `npm ci` then refuses the lock as out of sync. Entries with os/cpu are never
// fetched on other platforms, so listing them by version only is enough.
// Adds lock entries for node-llama-cpp's platform packages that this registry does not serve.
import fs from "node:fs";
const file = process.argv[2];
const lock = JSON.parse(fs.readFileSync(file, "utf8"));
const pk = lock.packages;
const nlc = pk["node_modules/node-llama-cpp"];
const plat = { "linux-riscv64": ["linux", "riscv64"], "mac-arm64-metal": ["darwin", "arm64"], "mac-x64": ["darwin", "x64"],
  "win-arm64": ["win32", "arm64"], "win-x64": ["win32", "x64"], "win-x64-cuda": ["win32", "x64"], "win-x64-cuda-ext": ["win32", "x64"], "win-x64-vulkan": ["win32", "x64"] };
for (const [name, [os, cpu]] of Object.entries(plat)) {
  const key = `node_modules/@node-llama-cpp/${name}`;
  if (pk[key]) continue;
  const version = nlc.optionalDependencies[`@node-llama-cpp/${name}`];
  pk[key] = { version, dev: true, optional: true, os: [os], cpu: [cpu], engines: { node: ">=20.0.0" } };
}
lock.packages = Object.fromEntries(Object.entries(pk).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)));
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + "\n");
