// Browser build (run by `npm run build`, after tsc): esbuild bundles the chat page, the engine
// worker and the kernel pool worker into dist/web/ as ES modules, next to the WASM kernels and the
// page's static files. Bundles are self-contained (no node:* anywhere: the build fails if one
// slips in). `node scripts/build-web.mjs --quiet` prints nothing but errors.
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "web");
const quiet = process.argv.includes("--quiet");
mkdirSync(out, { recursive: true });

// In the package, loader.ts finds the kernels at <root>/build/kernels/ relative to its compiled
// file; in the bundle they sit next to the script that loads them.
const KERNEL_DIR = '"../../../../build/kernels/';
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const browserOnly = {
  name: "edgellm-browser",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => {
      if (builtins.has(a.path))
        return {
          errors: [{ text: `Node builtin '${a.path}' imported by ${a.importer} in a browser bundle` }],
        };
      return undefined;
    });
    b.onLoad({ filter: /kernels[\\/]wasm[\\/]loader\.ts$/ }, (a) => {
      const src = readFileSync(a.path, "utf8");
      if (!src.includes(KERNEL_DIR))
        return {
          errors: [{ text: `loader.ts no longer names ${KERNEL_DIR}: update scripts/build-web.mjs` }],
        };
      return { contents: src.replaceAll(KERNEL_DIR, '"./'), loader: "ts" };
    });
  },
};

const t0 = Date.now();
await esbuild.build({
  entryPoints: {
    app: join(root, "src/web/ui/app.ts"),
    "engine-worker": join(root, "src/web/engine-worker.ts"),
    worker: join(root, "src/kernels/wasm/worker.ts"),
    // the libraries for a plain page (examples/browser/): `edgellm/web` and the isomorphic `edgellm`
    "edgellm-web": join(root, "src/web/index.ts"),
    edgellm: join(root, "src/index.ts"),
  },
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  // typed errors are named after their class (errors.ts: new.target.name); the worker sends the
  // name to the page, so minified class names would reach users as "O"
  keepNames: true,
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
  plugins: [browserOnly],
});
for (const f of ["kernels.wasm", "kernels-relaxed.wasm", "kernels-relaxed-dot32.wasm"])
  copyFileSync(join(root, "build/kernels", f), join(out, f));
for (const f of ["index.html", "style.css"]) copyFileSync(join(root, "src/web/ui", f), join(out, f));
if (!quiet) {
  const kb = (f) => `${(statSync(join(out, f)).size / 1024).toFixed(0)} KiB`;
  console.log(
    `web: dist/web/ app.js ${kb("app.js")}, engine-worker.js ${kb("engine-worker.js")}, worker.js ${kb("worker.js")}, kernels ${kb("kernels.wasm")} + ${kb("kernels-relaxed.wasm")}, edgellm-web.js ${kb("edgellm-web.js")}, edgellm.js ${kb("edgellm.js")} (${Date.now() - t0} ms)`,
  );
}
