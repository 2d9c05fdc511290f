/**
 * The training kernels (kernels-src/train, built to build/kernels/train.wasm): compiling the
 * module, creating the shared memory every training thread maps, and the typed exports.
 * One memory holds every training buffer (params, per-shard grads and activations), so a worker
 * instantiating the same module on the same memory reads the same floats at the same offsets.
 */
import { readFile } from "node:fs/promises";
import { KernelError } from "../../errors.js";
import { MAX_PAGES } from "../../kernels/wasm/arena.js";

/** <outDir>/src/train/wasm/ -> <repo>/build/kernels/train.wasm (dist/ and any .dist-* dir). */
export const TRAIN_WASM_URL = new URL("../../../../build/kernels/train.wasm", import.meta.url);

export interface TrainExports {
  /** C (R x J) = A (R x K) B^T, B (J x K); acc: 1 adds into C */
  mm_nt(c: number, a: number, b: number, R: number, K: number, J: number, acc: number): void;
  /** C (R x J) (+)= A B, B (K x J); A(r, k) at a + 4 (r ars + k acs) */
  mm_nn(
    c: number,
    a: number,
    b: number,
    R: number,
    K: number,
    J: number,
    ars: number,
    acs: number,
    acc: number,
  ): void;
  /** causal GQA attention (see kernels-src/train/attention.ts) */
  attn_fwd(
    out: number,
    att: number,
    q: number,
    k: number,
    v: number,
    B: number,
    T: number,
    nH: number,
    nKV: number,
    hd: number,
  ): void;
  attn_bwd(
    dq: number,
    dk: number,
    dv: number,
    dout: number,
    att: number,
    q: number,
    k: number,
    v: number,
    B: number,
    T: number,
    nH: number,
    nKV: number,
    hd: number,
    datt: number,
  ): void;
  /** y = a + b, n floats */
  vadd(y: number, a: number, b: number, n: number): void;
}

export async function compileTrainModule(url: URL = TRAIN_WASM_URL): Promise<WebAssembly.Module> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(url);
  } catch (e) {
    throw new KernelError(`cannot read the training kernels: ${(e as Error).message}`, {
      file: url.pathname,
      hint: "build them with `npm run build:kernels`",
    });
  }
  try {
    return await WebAssembly.compile(bytes as unknown as ArrayBuffer);
  } catch (e) {
    throw new KernelError(`cannot compile the training kernels: ${(e as Error).message}`, {
      file: url.pathname,
      hint: "training needs WebAssembly SIMD128 and threads (Node >= 20)",
    });
  }
}

export function createTrainMemory(initialPages = 16): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
}

export function instantiateTrain(module: WebAssembly.Module, memory: WebAssembly.Memory): TrainExports {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports as unknown as TrainExports;
}
