// Builds the WebAssembly kernels: kernels-src/assembly/index.ts -> build/kernels/kernels.wasm
// (SIMD128, shared imported memory, no runtime, no data segments). Run by `npm run build:kernels`
// (and so by `npm ci` through `prepare`). Uses the installed assemblyscript compiler's JS API.
import { fileURLToPath } from "node:url";
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import asc from "assemblyscript/asc";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const outDir = path.join(root, "build", "kernels");
mkdirSync(outDir, { recursive: true });

// Memory limits in 64 KiB pages: the module imports the memory the loader creates; the maximum
// must match what the loader declares (src/kernels/wasm/memory.ts MAX_PAGES).
const MAX_PAGES = 65536;

const common = [
  path.join(here, "assembly", "index.ts"),
  "--runtime", "stub",
  "--importMemory",
  "--sharedMemory",
  "--initialMemory", "1",
  "--maximumMemory", String(MAX_PAGES),
  "--noExportMemory",
  "--noAssert",
  "--use", "abort=",
  "-O3",
  "--converge",
];

// kernels-relaxed.wasm: the same sources with relaxed SIMD (`madd` in common.ts becomes a fused
// multiply-add), loaded only where the engine validates relaxed SIMD (Node >= 22, current
// browsers; Node 20 with --experimental-wasm-relaxed-simd) and passes a self-check at load.
// kernels-relaxed-dot32.wasm: the relaxed build with the int8 dots accumulated in i32 lanes
// (common.ts acc8, DOT32 = 1): one instruction per 16 byte products where the engine lowers
// relaxed_dot_i8x16_i7x16_add_s natively (AVX-VNNI in V8 >= 12, ARM sdot), three on engines
// without (V8 11 / Node 20), where the i16 form is faster. The loader times both and keeps the
// faster (wasm-kernel-set.ts).
const variants = [
  { file: "kernels.wasm", features: "simd,threads", dot32: 0 },
  { file: "kernels-relaxed.wasm", features: "simd,threads,relaxed-simd", dot32: 0 },
  { file: "kernels-relaxed-dot32.wasm", features: "simd,threads,relaxed-simd", dot32: 1 },
];

for (const v of variants) {
  const out = path.join(outDir, v.file);
  const t0 = Date.now();
  const { error, stderr } = await asc.main([...common, "--enable", v.features, "--use", `DOT32=${v.dot32}`, "--outFile", out], {});
  if (error) {
    console.error(stderr.toString());
    console.error(`kernels: ${v.file} failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`kernels: ${path.relative(root, out)} (${statSync(out).size} bytes, ${Date.now() - t0} ms)`);
}

// Training kernels (src/train/wasm): a separate module from kernels-src/train/index.ts with the
// same memory settings, so the training workers share one memory with their main thread.
{
  const out = path.join(outDir, "train.wasm");
  const args = [path.join(here, "train", "index.ts"), ...common.slice(1)];
  const { error, stderr } = await asc.main([...args, "--enable", "simd,threads,bulk-memory", "--outFile", out], {});
  if (error) {
    console.error(stderr.toString());
    console.error(`kernels: train.wasm failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`kernels: ${path.relative(root, out)} (${statSync(out).size} bytes)`);
}
