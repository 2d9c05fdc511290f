/**
 * Finds and compiles the kernel module. Default location: build/kernels/kernels.wasm at the
 * repository root, found relative to this file's compiled location (<outDir>/src/kernels/wasm/),
 * which works for dist/ and any .dist-* directory. Browsers pass a URL (fetched) or bytes.
 */
import { KernelError } from "../../errors.js";
import { isNode, nodeImport } from "../../platform/node-import.js";

export type WasmSource = URL | string | Uint8Array | ArrayBuffer | WebAssembly.Module;

export const DEFAULT_WASM_URL = new URL("../../../../build/kernels/kernels.wasm", import.meta.url);
/** The same kernels built with relaxed SIMD (fused multiply-add); see kernels-src/build.mjs. */
export const RELAXED_WASM_URL = new URL("../../../../build/kernels/kernels-relaxed.wasm", import.meta.url);
/** The relaxed build with int8 dots accumulated in i32 lanes (one instruction where the engine
 *  lowers relaxed_dot_add natively); chosen by timing at load (wasm-kernel-set.ts). */
export const DOT32_WASM_URL = new URL(
  "../../../../build/kernels/kernels-relaxed-dot32.wasm",
  import.meta.url,
);

export { isNode } from "../../platform/node-import.js";

/** host-node.ts (worker_threads, fs, os), loaded only in Node: browser bundles never see it. */
export function nodeHost(): Promise<typeof import("./host-node.js")> {
  return nodeImport(new URL("./host-node.js", import.meta.url).href);
}

export async function loadKernelModule(src: WasmSource = DEFAULT_WASM_URL): Promise<WebAssembly.Module> {
  if (src instanceof WebAssembly.Module) return src;
  const where = typeof src === "string" || src instanceof URL ? String(src) : "<bytes>";
  return compileKernelBytes(await readKernelBytes(src as URL | string | Uint8Array | ArrayBuffer), where);
}

/**
 * The relaxed-SIMD build, or null where this engine does not validate relaxed SIMD (Node 20
 * without --experimental-wasm-relaxed-simd) or the file is missing. Read, validated and compiled
 * once per process (every kernel set would otherwise repeat the probe). Callers still self-check
 * the instance before trusting it (createWasmKernelSet).
 */
export function loadRelaxedKernelModule(
  variant: "i16" | "dot32" = "i16",
): Promise<WebAssembly.Module | null> {
  const url = variant === "dot32" ? DOT32_WASM_URL : RELAXED_WASM_URL;
  let p = relaxedModules.get(variant);
  if (!p) {
    p = (async () => {
      let bytes: Uint8Array | ArrayBuffer;
      try {
        bytes = await readKernelBytes(url);
      } catch {
        return null;
      }
      if (!WebAssembly.validate(bytes as BufferSource)) return null;
      return compileKernelBytes(bytes, String(url));
    })();
    relaxedModules.set(variant, p);
  }
  return p;
}
const relaxedModules = new Map<string, Promise<WebAssembly.Module | null>>();

async function compileKernelBytes(
  bytes: Uint8Array | ArrayBuffer,
  where: string,
): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes as BufferSource);
  } catch (e) {
    throw new KernelError(`cannot compile the WASM kernels: ${(e as Error).message}`, {
      file: where,
      hint: "this engine needs WebAssembly SIMD128 and threads (Node >= 20, current browsers with cross-origin isolation)",
    });
  }
}

async function readKernelBytes(
  src: URL | string | Uint8Array | ArrayBuffer,
): Promise<Uint8Array | ArrayBuffer> {
  let bytes: Uint8Array | ArrayBuffer;
  const where = typeof src === "string" || src instanceof URL ? String(src) : "<bytes>";
  try {
    if (typeof src === "string" || src instanceof URL) {
      const url = typeof src === "string" ? new URL(src, import.meta.url) : src;
      if (isNode && url.protocol === "file:") {
        const { readNodeBytes } = await nodeHost();
        bytes = await readNodeBytes(url);
      } else {
        const res = await fetch(url);
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        bytes = await res.arrayBuffer();
      }
    } else {
      bytes = src;
    }
  } catch (e) {
    throw new KernelError(`cannot read the WASM kernels: ${(e as Error).message}`, {
      file: where,
      hint: "build them with `npm run build:kernels`",
    });
  }
  return bytes;
}
