/**
 * Finds and compiles the kernel module. Default location: build/kernels/kernels.wasm at the
 * repository root, found relative to this file's compiled location (<outDir>/src/kernels/wasm/),
 * which works for dist/ and any .dist-* directory. Browsers pass a URL (fetched) or bytes.
 */
import { KernelError } from "../../errors.js";

export type WasmSource = URL | string | Uint8Array | ArrayBuffer | WebAssembly.Module;

export const DEFAULT_WASM_URL = new URL("../../../../build/kernels/kernels.wasm", import.meta.url);

export const isNode = typeof process !== "undefined" && process.versions?.node !== undefined;

export async function loadKernelModule(src: WasmSource = DEFAULT_WASM_URL): Promise<WebAssembly.Module> {
  if (src instanceof WebAssembly.Module) return src;
  let bytes: Uint8Array | ArrayBuffer;
  const where = typeof src === "string" || src instanceof URL ? String(src) : "<bytes>";
  try {
    if (typeof src === "string" || src instanceof URL) {
      const url = typeof src === "string" ? new URL(src, import.meta.url) : src;
      if (isNode && url.protocol === "file:") {
        const { readNodeBytes } = await import("./host-node.js");
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
  try {
    return await WebAssembly.compile(bytes as BufferSource);
  } catch (e) {
    throw new KernelError(`cannot compile the WASM kernels: ${(e as Error).message}`, {
      file: where,
      hint: "this engine needs WebAssembly SIMD128 and threads (Node >= 20, current browsers with cross-origin isolation)",
    });
  }
}
